import Glibc
import LinuxSystem

/// Everything about a tree that another tree must reproduce: per path, what `lstat` says (type and mode
/// bits, owner, size, device number, mtime to the nanosecond; not other times, nor inode numbers), the
/// symlink target, the xattrs, the content hash, and which paths share an inode. Paths come from readdir, so
/// comparing the path sets compares listings without regard to order.
public struct TreeSnapshot: Equatable, Sendable {
  public struct Entry: Equatable, CustomStringConvertible, Sendable {
    public var mode: UInt32
    public var uid: UInt32
    public var gid: UInt32
    public var size: Int64
    /// The link count; 0 unless the snapshot was taken with `inodes`.
    public var nlink: UInt
    public var rdev: UInt64
    public var mtime: String
    public var target: String
    public var xattrs: [String: [UInt8]]
    public var content: String
    /// The first path (sorted) with the same inode: equal partitions mean equal hardlink groups. Without
    /// `inodes`, "" for directories and for files whose link count is 1.
    public var inodeGroup: String

    public var description: String {
      "mode \(String(mode, radix: 8)) \(uid):\(gid) size \(size) nlink \(nlink) rdev \(rdev) mtime \(mtime) "
        + "-> \(target) xattrs \(xattrs.keys.sorted()) content \(content.prefix(12)) group \(inodeGroup)"
    }
  }

  public var entries: [String: Entry] = [:]

  /// Walks `root` without following symlinks. With `includeRoot`, the root's own metadata is part of it.
  ///
  /// With `inodes` (what a mount must show as its export does), also the link counts, symlink sizes, and
  /// the partition of every path, directories included, by inode. Without (what an export must reproduce
  /// on another filesystem, where directory link counts and symlink sizes may differ), only the groups of
  /// hardlinked non-directories.
  public init(_ root: String, includeRoot: Bool = true, inodes: Bool = false) throws {
    var paths: [String] = []
    try Self.walk(root, "", &paths)
    paths.sort()
    var groups: [String: String] = [:]  // "dev:ino" -> first path
    for rel in paths {
      if rel.isEmpty && !includeRoot { continue }
      let full = rel.isEmpty ? root : "\(root)/\(rel)"
      var st = stat()
      guard lstat(full, &st) == 0 else { throw SystemError("lstat", path: full) }
      let type = st.st_mode & S_IFMT
      var group = ""
      if inodes || (type != S_IFDIR && st.st_nlink > 1) {
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
      var xattrs: [String: [UInt8]] = [:]
      for (name, value) in try ExtendedAttributes.list(full) { xattrs[name] = value }
      entries[rel.isEmpty ? "." : rel] = Entry(
        mode: st.st_mode, uid: st.st_uid, gid: st.st_gid,
        size: type == S_IFREG || (inodes && type == S_IFLNK) ? Int64(st.st_size) : 0,
        nlink: inodes ? st.st_nlink : 0,
        rdev: type == S_IFCHR || type == S_IFBLK ? UInt64(st.st_rdev) : 0,
        mtime: "\(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec)", target: target, xattrs: xattrs,
        content: type == S_IFREG ? try contentHash(full) : "", inodeGroup: group)
    }
  }

  private static func walk(_ root: String, _ rel: String, _ paths: inout [String]) throws {
    paths.append(rel)
    let full = rel.isEmpty ? root : "\(root)/\(rel)"
    var st = stat()
    guard lstat(full, &st) == 0 else { throw SystemError("lstat", path: full) }
    guard st.st_mode & S_IFMT == S_IFDIR else { return }
    for name in try Files.list(full) { try walk(root, rel.isEmpty ? name : "\(rel)/\(name)", &paths) }
  }

  /// The differences from `other`, one line each (at most `limit`), for a readable failure.
  public func differences(from other: TreeSnapshot, limit: Int = 20) -> [String] {
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
