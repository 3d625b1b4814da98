import CSHA256

/// SHA-256, incrementally or in one call: the one implementation both programs use (see CSHA256: the
/// CPU's SHA extensions where it has them, a portable loop elsewhere; no libcrypto).
public struct SHA256: Sendable {
  private var context = csha256_context()

  public init() { csha256_init(&context) }

  public mutating func update(_ buffer: UnsafeRawBufferPointer) {
    csha256_update(&context, buffer.baseAddress, buffer.count)
  }

  public mutating func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }

  /// The 32 bytes of the digest. The hash is spent afterwards (start a new one).
  public mutating func finalize() -> [UInt8] {
    var out = [UInt8](repeating: 0, count: 32)
    out.withUnsafeMutableBufferPointer { csha256_final(&context, $0.baseAddress) }
    return out
  }

  /// The digest as 64 lowercase hex digits.
  public mutating func finish() -> String { Self.hex(finalize()) }

  /// The digest of one buffer, written to `out` (32 bytes).
  public static func hash(_ buffer: UnsafeRawBufferPointer, into out: UnsafeMutableRawPointer) {
    csha256(buffer.baseAddress, buffer.count, out.assumingMemoryBound(to: UInt8.self))
  }

  /// Whether blocks go through the CPU's SHA extensions.
  public static var accelerated: Bool { csha256_accelerated() != 0 }

  static let digits = Array("0123456789abcdef".utf8)

  public static func hex(_ bytes: [UInt8]) -> String {
    String(decoding: bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 15)]] }, as: UTF8.self)
  }
}
