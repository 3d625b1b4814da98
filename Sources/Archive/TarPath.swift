/// Path rules for an image: where an entry lands inside the image root. Layers are untrusted, so a path can
/// never climb out of the root; absolute paths are taken relative to it, as every container runtime does.
public enum TarPath {
  /// Normalises an archive path to a relative path without "." components, duplicate slashes or a trailing
  /// slash: "./usr//bin/" → "usr/bin", "/etc/x" → "etc/x", and ".", "./" or "/" → "" (the root).
  /// A ".." that stays inside the root resolves ("a/b/../c" → "a/c"); one that would leave it throws
  /// "path escapes the image root". Components over 255 bytes and NUL bytes are rejected.
  /// Errors name `entry`, or the path itself when no entry is given.
  public static func normalize(_ path: String, entry: String? = nil) throws -> String {
    let name = entry ?? path
    let utf8 = path.utf8
    if utf8.contains(0) { throw ArchiveError(entry: name, reason: "path contains a NUL byte") }
    // Fast path: already normal (no leading, trailing or double slash, no "." or ".." component).
    if isNormal(utf8) { return path }
    var parts: [Substring] = []
    for part in path.split(separator: "/", omittingEmptySubsequences: true) {
      switch part {
      case ".": continue
      case "..":
        if parts.popLast() == nil { throw ArchiveError(entry: name, reason: "path escapes the image root") }
      default:
        if part.utf8.count > 255 { throw ArchiveError(entry: name, reason: "name longer than 255 bytes") }
        parts.append(part)
      }
    }
    return parts.joined(separator: "/")
  }

  /// True when `utf8` needs no rewriting and every component is at most 255 bytes.
  private static func isNormal(_ utf8: String.UTF8View) -> Bool {
    var componentLength = 0
    var dots = 0
    for byte in utf8 {
      if byte == 0x2f {
        if componentLength == 0 || (componentLength == dots && dots <= 2) { return false }
        componentLength = 0
        dots = 0
      } else {
        componentLength += 1
        if byte == 0x2e { dots += 1 }
        if componentLength > 255 { return false }
      }
    }
    return componentLength > 0 && !(componentLength == dots && dots <= 2)
  }
}
