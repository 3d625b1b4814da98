import Archive
import ChunkStore
import Codecs
import Glibc
import ImageIndex
import LinuxSystem

/// Why an export failed.
public struct ExportError: Error, CustomStringConvertible, Sendable {
  public let description: String
  public init(_ description: String) { self.description = description }
}

/// Writes an image back out, as a directory or a tar, equal to what was imported: content, type, mode
/// (setuid, setgid, sticky), owner, nanosecond mtime, xattrs, device numbers and hardlink groups.
/// Runs of zero bytes a whole chunk long become holes, so sparse files stay sparse.
public struct Exporter {
  public let store: ChunkStore
  public let index: ImageIndex

  public init(store: ChunkStore, index: ImageIndex) {
    self.store = store
    self.index = index
  }

  /// Entry names come from an index, which anyone can write into a store: refuse one that could leave
  /// the directory it belongs in.
  func checkedName(_ i: Int) throws -> String {
    let name = index.name(i)
    guard !name.isEmpty, name != ".", name != "..", !name.contains("/"), !name.utf8.contains(0) else {
      throw ExportError("entry \(i) has an invalid name \"\(name)\"")
    }
    return name
  }

  /// Calls `body` with every entry's number and path ("" for the root), parents before children.
  func forEachEntry(_ body: (Int, String) throws -> Void) throws {
    var paths = [String](repeating: "", count: index.count)
    try body(0, "")
    for i in 1..<max(index.count, 1) {
      let parent = index.parent(i)
      guard parent < i, index.type(parent) == .directory else { throw ExportError("entry \(i) has an invalid parent") }
      let name = try checkedName(i)
      paths[i] = paths[parent].isEmpty ? name : paths[parent] + "/" + name
      try body(i, paths[i])
    }
  }

  /// Writes the file's bytes to `write`, chunk by chunk, each chunk checked against its digest.
  func content(_ i: Int, _ write: (UnsafeRawBufferPointer) throws -> Void) throws {
    var expected: Int64 = 0
    for k in index.extents(i) {
      let x = index.extent(k)
      guard x.offset == expected else { throw ExportError("\(index.path(of: i)): extents are not contiguous") }
      let bytes = try store.read(x.chunk)
      guard bytes.count == Int(x.length) else {
        throw ExportError("\(index.path(of: i)): chunk \(x.chunk) has the wrong length")
      }
      try bytes.withUnsafeBytes { try write($0) }
      expected += Int64(x.length)
    }
    guard expected == index.attributes(i).size else {
      throw ExportError("\(index.path(of: i)): extents cover \(expected) bytes of \(index.attributes(i).size)")
    }
  }
}

extension Exporter {
  /// Exports to a tar (PAX: long names, xattrs and nanosecond times kept) at `path`, atomically.
  public func exportTar(to path: String) throws {
    let tmp = "\(Files.dirname(of: path))/.tmp-export-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
    let fd = try FileDescriptor.open(tmp, O_WRONLY | O_CREAT | O_EXCL, mode: 0o644)
    do {
      let writer = TarWriter(fd)
      try forEachEntry { i, path in
        let a = index.attributes(i)
        var h = TarHeader(
          path: path.isEmpty ? "./" : "./" + path, type: .regular, mode: a.mode & 0o7777, uid: a.uid, gid: a.gid,
          size: 0, mtimeSeconds: a.mtimeSeconds, mtimeNanoseconds: a.mtimeNanoseconds)
        h.xattrs = index.xattrs(i)
        let first = index.inode(i)
        if first != i {
          h.type = .hardlink
          h.linkName = "./" + index.path(of: first)
          try writer.append(h)
          return
        }
        switch a.type {
        case .directory: h.type = .directory
        case .regular: h.type = .regular
        case .symlink:
          h.type = .symlink
          h.linkName = index.symlinkTarget(i)
        case .characterDevice, .blockDevice:
          h.type = a.type == .characterDevice ? .characterDevice : .blockDevice
          h.devMajor = DeviceNumber.major(a.rdev)
          h.devMinor = DeviceNumber.minor(a.rdev)
        case .fifo: h.type = .fifo
        case .socket, nil: return
        }
        if h.type == .regular { h.size = a.size }
        try writer.append(h)
        if h.type == .regular { try content(i) { try writer.write($0) } }
      }
      try writer.finish()
      try fd.fsync()
      fd.close()
      _ = try syscall("rename", path: path) { rename(tmp, path) }
    } catch {
      fd.close()
      unlink(tmp)
      throw error
    }
  }
}
