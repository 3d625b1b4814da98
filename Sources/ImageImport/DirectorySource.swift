import Archive
import Glibc
import LinuxSystem

/// Walks a root filesystem on disk, never following symlinks, and hands each entry to `visit` as a tar header
/// with a reader for its content: a directory imports exactly as a tarball of it would.
struct DirectorySource {
  let root: String

  func walk(_ visit: (TarHeader, (UnsafeMutableRawBufferPointer) throws -> Int) throws -> Void) throws {
    var seen: [UInt64: [UInt64: String]] = [:]  // st_dev → st_ino → first path, for hardlinks
    try visitEntry(relative: "", seen: &seen, visit)
  }

  private func visitEntry(
    relative: String, seen: inout [UInt64: [UInt64: String]],
    _ visit: (TarHeader, (UnsafeMutableRawBufferPointer) throws -> Int) throws -> Void
  ) throws {
    let full = relative.isEmpty ? root : root + "/" + relative
    var st = stat()
    _ = try syscall("lstat", path: full) { lstat(full, &st) }
    let format = st.st_mode & S_IFMT
    var header = TarHeader(
      path: relative.isEmpty ? "." : relative, type: .regular, mode: UInt32(st.st_mode & 0o7777), uid: st.st_uid,
      gid: st.st_gid, size: 0, mtimeSeconds: Int64(st.st_mtim.tv_sec), mtimeNanoseconds: UInt32(st.st_mtim.tv_nsec))
    header.xattrs = try ExtendedAttributes.list(full)
    if format != S_IFDIR && st.st_nlink > 1 {
      if let first = seen[UInt64(st.st_dev)]?[UInt64(st.st_ino)] {
        header.type = .hardlink
        header.linkName = first
        try visit(header) { _ in 0 }
        return
      }
      seen[UInt64(st.st_dev), default: [:]][UInt64(st.st_ino)] = relative
    }
    switch format {
    case S_IFDIR:
      header.type = .directory
      try visit(header) { _ in 0 }
      for name in try Files.list(full).sorted() {
        try visitEntry(relative: relative.isEmpty ? name : relative + "/" + name, seen: &seen, visit)
      }
    case S_IFREG:
      header.size = Int64(st.st_size)
      let fd = try FileDescriptor.open(full, O_RDONLY | O_NOFOLLOW)
      try visit(header) { buffer in try fd.read(into: buffer) }
    case S_IFLNK:
      header.type = .symlink
      var target = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
      let n = try syscall("readlink", path: full) { readlink(full, &target, target.count - 1) }
      header.linkName = String(decoding: target[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
      try visit(header) { _ in 0 }
    case S_IFCHR, S_IFBLK:
      header.type = format == S_IFCHR ? .characterDevice : .blockDevice
      header.devMajor = DeviceNumber.major(UInt64(st.st_rdev))
      header.devMinor = DeviceNumber.minor(UInt64(st.st_rdev))
      try visit(header) { _ in 0 }
    case S_IFIFO:
      header.type = .fifo
      try visit(header) { _ in 0 }
    default:
      break  // Sockets belong to a running system, not an image (tar skips them too).
    }
  }
}
