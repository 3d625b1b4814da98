import Glibc

/// Resolves `path` inside `root` the way the container will see it: symlinks are followed, but an
/// absolute link or `..` can never climb above `root`. Mount targets are resolved this way so that a
/// rootfs holding `/proc -> /etc` cannot make a mount land on the host's /etc (runc's securejoin).
public enum SecureJoin {
  public static func resolve(root: String, _ path: String) -> String {
    var resolved: [Substring] = []
    var pending = Array(path.split(separator: "/").reversed())
    var links = 0
    while let part = pending.popLast() {
      if part == "." { continue }
      if part == ".." {
        if !resolved.isEmpty { resolved.removeLast() }
        continue
      }
      let candidate = root + "/" + (resolved + [part]).joined(separator: "/")
      if links < 255, let target = readLink(candidate) {
        links += 1
        if target.hasPrefix("/") { resolved.removeAll() }
        pending.append(contentsOf: target.split(separator: "/").reversed().map { Substring($0) })
        continue
      }
      resolved.append(part)
    }
    return resolved.isEmpty ? root : root + "/" + resolved.joined(separator: "/")
  }

  static func readLink(_ path: String) -> String? {
    var buffer = [CChar](repeating: 0, count: 4097)
    let n = readlink(path, &buffer, 4096)
    guard n > 0 else { return nil }
    return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }
}
