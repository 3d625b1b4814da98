import Hashing

/// A SHA-256 digest: the address of every chunk, index and image in the store.
public struct Digest: Hashable, Comparable, Sendable, CustomStringConvertible {
  /// The 32 bytes as four words, so that a digest is a plain value with cheap hashing and comparison.
  public var w0, w1, w2, w3: UInt64

  public init(bytes: UnsafeRawBufferPointer) {
    precondition(bytes.count == 32)
    w0 = UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
    w1 = UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
    w2 = UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 16, as: UInt64.self))
    w3 = UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 24, as: UInt64.self))
  }

  /// Parses 64 hex digits, optionally behind `sha256:`.
  public init?(hex: some StringProtocol) {
    var s = Substring(hex)
    if s.hasPrefix("sha256:") { s = s.dropFirst(7) }
    guard s.utf8.count == 64 else { return nil }
    var words: [UInt64] = []
    var i = s.startIndex
    for _ in 0..<4 {
      let j = s.index(i, offsetBy: 16)
      guard let w = UInt64(s[i..<j], radix: 16), s[i..<j].allSatisfy(\.isHexDigit) else { return nil }
      words.append(w)
      i = j
    }
    (w0, w1, w2, w3) = (words[0], words[1], words[2], words[3])
  }

  /// SHA-256 of a buffer.
  public static func of(_ buffer: UnsafeRawBufferPointer) -> Digest {
    withUnsafeTemporaryAllocation(byteCount: 32, alignment: 8) { out in
      SHA256.hash(buffer, into: out.baseAddress!)
      return Digest(bytes: UnsafeRawBufferPointer(out))
    }
  }

  public static func of(_ bytes: [UInt8]) -> Digest { bytes.withUnsafeBytes { of($0) } }

  /// The 32 bytes, big-endian, as SHA-256 writes them.
  public var bytes: [UInt8] {
    var out = [UInt8](repeating: 0, count: 32)
    out.withUnsafeMutableBytes { write(to: $0.baseAddress!) }
    return out
  }

  public func write(to p: UnsafeMutableRawPointer) {
    p.storeBytes(of: w0.bigEndian, toByteOffset: 0, as: UInt64.self)
    p.storeBytes(of: w1.bigEndian, toByteOffset: 8, as: UInt64.self)
    p.storeBytes(of: w2.bigEndian, toByteOffset: 16, as: UInt64.self)
    p.storeBytes(of: w3.bigEndian, toByteOffset: 24, as: UInt64.self)
  }

  private static let hexDigits = Array("0123456789abcdef".utf8)

  /// 64 lowercase hex digits.
  public var hex: String {
    var chars = [UInt8](repeating: 0, count: 64)
    for (k, w) in [w0, w1, w2, w3].enumerated() {
      for b in 0..<16 { chars[k * 16 + b] = Self.hexDigits[Int((w >> UInt64(60 - 4 * b)) & 0xf)] }
    }
    return String(decoding: chars, as: UTF8.self)
  }

  /// `sha256:<hex>`, as OCI writes digests.
  public var description: String { "sha256:" + hex }

  public static func < (a: Digest, b: Digest) -> Bool { (a.w0, a.w1, a.w2, a.w3) < (b.w0, b.w1, b.w2, b.w3) }
}

/// An incremental SHA-256, for streams too large to hold (layers, whole files), as a `Digest`.
public struct SHA256Hasher: ~Copyable {
  private var hash = SHA256()
  public init() {}

  public mutating func update(_ buffer: UnsafeRawBufferPointer) { hash.update(buffer) }

  public consuming func finalize() -> Digest { hash.finalize().withUnsafeBytes { Digest(bytes: $0) } }
}
