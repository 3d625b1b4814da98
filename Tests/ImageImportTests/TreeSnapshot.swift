import Codecs
import Glibc
import LinuxSystem

/// Everything about a tree that an export must reproduce: per path, the metadata `lstat` shows (less
/// times other than mtime, and inode numbers), xattrs, content hashes, and the hardlink groups.
struct TreeSnapshot: Equatable {
  struct Entry: Equatable, CustomStringConvertible {
    var mode: UInt32
    var uid: UInt32
    var gid: UInt32
    var size: Int64
    var mtime: String
    var rdev: UInt64
    var target: String
    var xattrs: [String: [UInt8]]
    var content: String
    /// The first path (in sorted order) of this entry's hardlink group; "" when nlink is 1.
    var linkGroup: String

    var description: String {
      "mode \(String(mode, radix: 8)) \(uid):\(gid) size \(size) mtime \(mtime) rdev \(rdev) -> \(target) "
        + "xattrs \(xattrs.keys.sorted()) content \(content.prefix(12)) group \(linkGroup)"
    }
  }

  var entries: [String: Entry] = [:]

  /// Walks `root` without following symlinks. With `includeRoot`, the root's own metadata is part of it.
  init(_ root: String, includeRoot: Bool = true) throws {
    var groups: [String: String] = [:]  // "dev:ino" -> first path
    var paths: [String] = []
    try walk(root, "", &paths)
    paths.sort()
    for rel in paths {
      if rel.isEmpty && !includeRoot { continue }
      let full = rel.isEmpty ? root : "\(root)/\(rel)"
      var st = stat()
      guard lstat(full, &st) == 0 else { throw SystemError("lstat", path: full) }
      let type = st.st_mode & S_IFMT
      var group = ""
      if type != S_IFDIR && st.st_nlink > 1 {
        let key = "\(st.st_dev):\(st.st_ino)"
        if groups[key] == nil { groups[key] = rel }
        group = groups[key]!
      }
      var target = ""
      if type == S_IFLNK {
        var buf = [CChar](repeating: 0, count: 4097)
        let n = readlink(full, &buf, 4096)
        target = String(decoding: buf[0..<max(0, n)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
      }
      var content = ""
      if type == S_IFREG { content = try Self.hash(full) }
      var xattrs: [String: [UInt8]] = [:]
      for (name, value) in try ExtendedAttributes.list(full) { xattrs[name] = value }
      entries[rel.isEmpty ? "." : rel] = Entry(
        mode: st.st_mode, uid: st.st_uid, gid: st.st_gid, size: type == S_IFREG ? Int64(st.st_size) : 0,
        mtime: "\(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec)",
        rdev: (type == S_IFCHR || type == S_IFBLK) ? UInt64(st.st_rdev) : 0, target: target, xattrs: xattrs,
        content: content, linkGroup: group)
    }
  }

  private func walk(_ root: String, _ rel: String, _ paths: inout [String]) throws {
    paths.append(rel)
    let full = rel.isEmpty ? root : "\(root)/\(rel)"
    var st = stat()
    guard lstat(full, &st) == 0 else { throw SystemError("lstat", path: full) }
    guard st.st_mode & S_IFMT == S_IFDIR else { return }
    for name in try Files.list(full) { try walk(root, rel.isEmpty ? name : "\(rel)/\(name)", &paths) }
  }

  static func hash(_ path: String) throws -> String {
    let stream = try FileStream(path: path)
    let digesting = DigestingStream(stream)
    try digesting.drain()
    return digesting.finalize().hex
  }

  /// The differences from `other`, one line each (at most `limit`), for a readable failure.
  func differences(from other: TreeSnapshot, limit: Int = 20) -> [String] {
    var out: [String] = []
    for path in Set(entries.keys).union(other.entries.keys).sorted() {
      switch (entries[path], other.entries[path]) {
      case (let a?, let b?) where a != b: out.append("\(path):\n    got  \(a)\n    want \(b)")
      case (nil, _?): out.append("\(path): missing")
      case (_?, nil): out.append("\(path): unexpected")
      default: break
      }
      if out.count >= limit { break }
    }
    return out
  }
}
