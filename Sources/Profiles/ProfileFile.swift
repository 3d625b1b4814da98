import Codecs

/// A profile as a file: small, self-checking, and named by its content.
///
/// ```
/// "lazyfs-profile 1\n"            17 bytes
/// image digest                    32 bytes
/// runs, count                     u32 LE each
/// count × (entry, extent, seen, rank)   u32, u32, u32, f32 LE: 16 bytes each
/// SHA-256 of everything above     32 bytes
/// ```
///
/// The trailing digest catches truncation and corruption; the file's own SHA-256 (`digest`) is its name
/// in `lazyfs profile list` and what a remote's copy is checked against once cached.
extension Profile {
  static let magic = Array("lazyfs-profile 1\n".utf8)
  static let recordSize = 16
  static let headerSize = magic.count + 32 + 8

  /// The file's bytes.
  public var encoded: [UInt8] {
    var out = Self.magic
    out.reserveCapacity(Self.headerSize + records.count * Self.recordSize + 32)
    out += image.bytes
    func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
    u32(runs)
    u32(UInt32(records.count))
    for r in records {
      u32(r.entry)
      u32(r.extent)
      u32(r.seen)
      u32(r.rank.bitPattern)
    }
    out += Digest.of(out).bytes
    return out
  }

  /// Reads a profile file, checking its framing and checksum, and, when `image` is given, that it is
  /// that image's profile. Every way it can be wrong is a `ProfileError` naming what.
  public init(decoding bytes: [UInt8], for expected: Digest? = nil) throws(ProfileError) {
    guard bytes.count >= Self.headerSize + 32, Array(bytes[0..<Self.magic.count]) == Self.magic else {
      throw .notAProfile
    }
    func u32(_ at: Int) -> UInt32 {
      UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
    }
    let runs = u32(49)
    let count = Int(u32(53))
    let expectedSize = Self.headerSize + count * Self.recordSize + 32
    guard bytes.count >= expectedSize else { throw .truncated }
    guard bytes.count == expectedSize else { throw .corrupt }
    let body = bytes[..<(bytes.count - 32)]
    guard Digest.of(Array(body)).bytes == Array(bytes[(bytes.count - 32)...]) else { throw .corrupt }
    let image = bytes.withUnsafeBytes { Digest(bytes: UnsafeRawBufferPointer(rebasing: $0[17..<49])) }
    if let expected, expected != image { throw .foreign(expected: expected, found: image) }
    guard runs > 0 else { throw .invalid("it merges no runs") }
    var records: [Record] = []
    records.reserveCapacity(count)
    for i in 0..<count {
      let at = Self.headerSize + i * Self.recordSize
      let r = Record(entry: u32(at), extent: u32(at + 4), seen: u32(at + 8), rank: Float(bitPattern: u32(at + 12)))
      guard r.seen >= 1, r.seen <= runs, r.rank >= 0, r.rank <= 1 else {
        throw .invalid("record \(i) says it was read by \(r.seen) of \(runs) runs at rank \(r.rank)")
      }
      records.append(r)
    }
    self.init(image: image, runs: runs, records: records)
  }

  /// The SHA-256 of the file's bytes: the profile's name.
  public var digest: Digest { Digest.of(encoded) }
}

/// Why a profile cannot be used. The mount goes on without prefetch; `lazyfs profile` commands fail.
public enum ProfileError: Error, Equatable, CustomStringConvertible, Sendable {
  case notAProfile
  case corrupt
  case truncated
  case foreign(expected: Digest, found: Digest)
  case invalid(String)
  /// Records that name extents the image does not have, or give them to the wrong file.
  case doesNotFit(String)

  public var description: String {
    switch self {
    case .notAProfile: "not a lazyfs profile (no \"lazyfs-profile 1\" header)"
    case .corrupt: "corrupt (its checksum does not match its content)"
    case .truncated: "truncated (shorter than the records its header announces)"
    case .foreign(let expected, let found): "a profile of image \(found), not of \(expected)"
    case .invalid(let why): "invalid: \(why)"
    case .doesNotFit(let why): "does not fit the image: \(why)"
    }
  }
}
