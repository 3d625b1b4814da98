/// An image's digest: the SHA-256 of its index, as 64 lowercase hex digits. What a reference resolves to,
/// and what crosses every boundary after that (a mount's argv, the runtime's shared mount directories).
///
/// Kept as text, not bytes: this module sits under crun-fast, which hashes nothing and must not link
/// the hashing library; `Codecs.Digest` converts to and from it.
public struct ImageDigest: Hashable, Comparable, Sendable, CustomStringConvertible {
  /// 64 lowercase hex digits.
  public let hex: String

  /// 64 hex digits in either case, optionally behind `sha256:`.
  public init?(_ text: some StringProtocol) {
    var s = Substring(text)
    if s.hasPrefix("sha256:") { s = s.dropFirst(7) }
    guard s.utf8.count == 64, s.utf8.allSatisfy(Self.isHexDigit) else { return nil }
    hex = s.lowercased()
  }

  /// `sha256:<hex>`, as OCI writes digests.
  public var description: String { "sha256:" + hex }

  public static func < (a: ImageDigest, b: ImageDigest) -> Bool { a.hex < b.hex }

  static func isHexDigit(_ c: UInt8) -> Bool {
    (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46)
  }
}

/// An image name: path-like (`debian:bookworm`, `team/app:1.2`) but never escaping the directory of
/// names; no component starts with '.' (that keeps `..` out, and a store's own `.tmp-` files apart).
public struct ImageName: Hashable, Comparable, Sendable, CustomStringConvertible {
  public let text: String

  public init?(_ text: String) {
    guard Self.isValid(text) else { return nil }
    self.text = text
  }

  /// The name as one file name in a directory of names ('/' as %2F): in a store and in a published one.
  public var fileName: String { text.replacing("/", with: "%2F") }

  /// The name a file in a directory of names stands for, if it is one.
  public init?(fileName: String) {
    guard !fileName.hasPrefix(".tmp-") else { return nil }
    self.init(fileName.replacing("%2F", with: "/"))
  }

  public var description: String { text }
  public static func < (a: ImageName, b: ImageName) -> Bool { a.text < b.text }

  static let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-:/@".utf8)

  /// Also refused: a name that reads as a digest (`sha256:HEX`, or 64 hex digits), which would make a
  /// reference mean one image by name and another by digest.
  public static func isValid(_ name: String) -> Bool {
    guard !name.isEmpty, name.utf8.count <= 200, !name.hasPrefix("/"), !name.hasSuffix("/") else { return false }
    guard ImageDigest(name) == nil else { return false }
    return name.utf8.allSatisfy(allowed.contains)
      && !name.split(separator: "/", omittingEmptySubsequences: false).contains { $0.isEmpty || $0.hasPrefix(".") }
  }
}
