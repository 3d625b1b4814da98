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

  /// Calls `body` with every entry's number, its path ("" for the root) and, for the second and later
  /// names of a hardlinked file, the path it was first given. Depth-first, parents before children, as
  /// tar writes a tree: GNU tar sets a directory's times when it meets an entry outside it.
  func forEachEntry(_ body: (_ entry: Int, _ path: String, _ linkTo: String?) throws -> Void) throws {
    var firstPath: [Int: String] = [:]
    var stack: [(Int, String)] = [(0, "")]
    var visited = 0
    while let (i, path) = stack.popLast() {
      visited += 1
      guard visited <= index.count else { throw ExportError("the index's tree has a cycle") }
      let inode = index.inode(i)
      var linkTo: String?
      if index.type(i) != .directory {
        if let first = firstPath[inode] { linkTo = first } else { firstPath[inode] = path }
      }
      try body(i, path, linkTo)
      guard index.type(i) == .directory else { continue }
      for child in index.children(i).reversed() {
        guard child > i, index.parent(child) == i else { throw ExportError("entry \(child) has an invalid parent") }
        let name = try checkedName(child)
        stack.append((child, path.isEmpty ? name : path + "/" + name))
      }
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
    let writer = TarWriter(try FileDescriptor.open(tmp, O_WRONLY | O_CREAT | O_EXCL, mode: 0o644))
    do {
      try forEachEntry { i, path, linkTo in
        let a = index.attributes(i)
        var h = TarHeader(
          path: path.isEmpty ? "./" : "./" + path, type: .regular, mode: a.mode & 0o7777, uid: a.uid, gid: a.gid,
          size: 0, mtimeSeconds: a.mtimeSeconds, mtimeNanoseconds: a.mtimeNanoseconds)
        h.xattrs = index.xattrs(i)
        if let linkTo {
          h.type = .hardlink
          h.linkName = "./" + linkTo
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
      try writer.sync()
      _ = try syscall("rename", path: path) { rename(tmp, path) }
    } catch {
      unlink(tmp)
      throw error
    }
  }
}
