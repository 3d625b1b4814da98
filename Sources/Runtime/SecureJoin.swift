import Glibc

/// Resolves paths inside `root` the way the container will see them: symlinks are followed, but an
/// absolute link or `..` can never climb above `root`. Mount targets are resolved this way so that a
/// rootfs holding `/proc -> /etc` cannot make a mount land on the host's /etc (runc's securejoin).
///
/// One resolver serves one plan: it remembers what each path it looked at is (a link and where to, or
/// not a link), so the dozens of targets under /dev, /proc and /sys cost one readlink per distinct
/// prefix instead of one per component of every target.
public final class SecureJoin {
  public let root: String
  private var links: [String: String?] = [:]

  public init(root: String) { self.root = root }

  /// `path` resolved once, without a resolver kept for more.
  public static func resolve(root: String, _ path: String) -> String { SecureJoin(root: root).resolve(path) }

  public func resolve(_ path: String) -> String {
    var resolved: [Substring] = []
    var pending = Array(path.split(separator: "/").reversed())
    var followed = 0
    while let part = pending.popLast() {
      if part == "." { continue }
      if part == ".." {
        if !resolved.isEmpty { resolved.removeLast() }
        continue
      }
      let candidate = root + "/" + (resolved + [part]).joined(separator: "/")
      if followed < 255, let target = link(candidate) {
        followed += 1
        if target.hasPrefix("/") { resolved.removeAll() }
        pending.append(contentsOf: target.split(separator: "/").reversed().map { Substring($0) })
        continue
      }
      resolved.append(part)
    }
    return resolved.isEmpty ? root : root + "/" + resolved.joined(separator: "/")
  }

  /// Where the symlink at `path` points, or nil when it is not one (or not there).
  private func link(_ path: String) -> String? {
    if let known = links[path] { return known }
    let target = Self.readLink(path)
    links[path] = .some(target)
    return target
  }

  static func readLink(_ path: String) -> String? {
    withUnsafeTemporaryAllocation(of: CChar.self, capacity: 4097) { buffer in
      let n = readlink(path, buffer.baseAddress!, 4096)
      guard n > 0 else { return nil }
      return String(decoding: UnsafeRawBufferPointer(start: buffer.baseAddress!, count: n), as: UTF8.self)
    }
  }
}
