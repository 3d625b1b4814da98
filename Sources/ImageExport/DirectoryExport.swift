import ChunkStore
import Codecs
import Glibc
import ImageIndex
import LinuxSystem

extension Exporter {
  /// Exports into the directory `path`, which must not exist or be empty. Directories get their final
  /// mode, owner and times last, deepest first, so that writing their children does not undo them.
  /// A failed export (a corrupt chunk, a full disk) removes what it wrote.
  public func exportDirectory(to path: String) throws {
    let created = !Files.exists(path)
    if created {
      _ = try syscall("mkdir", path: path) { mkdir(path, 0o700) }
    } else {
      guard Files.isDirectory(path), try Files.list(path).isEmpty else {
        throw ExportError("\(path): exists and is not an empty directory")
      }
    }
    do { try populate(path) } catch {
      if created {
        Files.removeTree(path)
      } else {
        for name in (try? Files.list(path)) ?? [] { Files.removeTree(path + "/" + name) }
      }
      throw error
    }
  }

  private func populate(_ path: String) throws {
    var directories: [(Int, String)] = []
    try forEachEntry { i, relative, linkTo in
      let full = relative.isEmpty ? path : path + "/" + relative
      let a = index.attributes(i)
      if let linkTo {
        let target = path + "/" + linkTo
        _ = try syscall("link", path: full) { link(target, full) }
        return
      }
      switch a.type {
      case .directory:
        if !relative.isEmpty { _ = try syscall("mkdir", path: full) { mkdir(full, 0o700) } }
        directories.append((i, full))
        return
      case .regular: try writeFile(i, full)
      case .symlink: _ = try syscall("symlink", path: full) { symlink(index.symlinkTarget(i), full) }
      case .characterDevice, .blockDevice, .fifo:
        _ = try syscall("mknod", path: full) { mknod(full, mode_t(a.mode & 0o170000) | 0o600, dev_t(a.rdev)) }
      case .socket, nil: return
      }
      try applyMetadata(i, full)
    }
    for (i, full) in directories.reversed() { try applyMetadata(i, full) }
  }

  private func writeFile(_ i: Int, _ full: String) throws {
    let fd = try FileDescriptor.open(full, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode: 0o600)
    var offset: Int64 = 0
    try content(i) { bytes in
      if Self.isZero(bytes) {
        offset += Int64(bytes.count)  // leave a hole
      } else {
        try fd.pwrite(bytes, at: offset)
        offset += Int64(bytes.count)
      }
    }
    _ = try syscall("ftruncate", path: full) { ftruncate(fd.raw, off_t(offset)) }
  }

  static func isZero(_ b: UnsafeRawBufferPointer) -> Bool {
    guard b.count >= 4096 else { return false }
    var i = 0
    while i + 8 <= b.count {
      if b.loadUnaligned(fromByteOffset: i, as: UInt64.self) != 0 { return false }
      i += 8
    }
    while i < b.count {
      if b[i] != 0 { return false }
      i += 1
    }
    return true
  }

  /// Owner, then mode (chown clears setuid and setgid, so chmod must come after), xattrs, then times.
  private func applyMetadata(_ i: Int, _ full: String) throws {
    let a = index.attributes(i)
    _ = try syscall("lchown", path: full) { lchown(full, a.uid, a.gid) }
    if a.type != .symlink { _ = try syscall("chmod", path: full) { chmod(full, mode_t(a.mode & 0o7777)) } }
    for (name, value) in index.xattrs(i) { try ExtendedAttributes.set(full, name, value) }
    var times = [
      timespec(tv_sec: Int(a.mtimeSeconds), tv_nsec: Int(a.mtimeNanoseconds)),
      timespec(tv_sec: Int(a.mtimeSeconds), tv_nsec: Int(a.mtimeNanoseconds)),
    ]
    _ = try syscall("utimensat", path: full) { utimensat(AT_FDCWD, full, &times, AT_SYMLINK_NOFOLLOW) }
  }
}
