import CSHA256
import Glibc
import Hashing
import LinuxSystem
import Testing

/// The one SHA-256: FIPS 180-4's vectors, every length across block boundaries and any split into pieces,
/// by the SHA extensions and by the portable loop alike, and against coreutils' `sha256sum`.
@Suite(.serialized) struct SHA256Tests {
  static let vectors: [(String, String)] = [
    ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
    (
      "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
    ),
    (
      "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
      "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"
    ),
  ]

  func digest(_ bytes: [UInt8]) -> String {
    var hash = SHA256()
    hash.update(bytes)
    return hash.finish()
  }

  @Test(arguments: [false, true])
  func standardVectors(portable: Bool) {
    csha256_force_portable(portable ? 1 : 0)
    defer { csha256_force_portable(0) }
    for (input, expected) in Self.vectors { #expect(digest(Array(input.utf8)) == expected, "\(input)") }
    // A million 'a's: many blocks through one update.
    #expect(
      digest([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000))
        == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
  }

  /// Both block functions agree on every length from 0 to 300 bytes, hashed whole and in uneven pieces.
  @Test(.enabled(if: SHA256.accelerated, "the CPU has no SHA extensions: only the portable loop to compare"))
  func everyLengthAndSplitAgrees() {
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    func next() -> UInt8 {
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return UInt8(truncatingIfNeeded: state >> 33)
    }
    defer { csha256_force_portable(0) }
    for length in 0...300 {
      let bytes = (0..<length).map { _ in next() }
      csha256_force_portable(1)
      let portable = digest(bytes)
      csha256_force_portable(0)
      #expect(digest(bytes) == portable, "length \(length)")
      var pieces = SHA256()
      var offset = 0
      while offset < length {
        let count = min(1 + Int(next() % 70), length - offset)
        bytes[offset..<offset + count].withUnsafeBytes { pieces.update($0) }
        offset += count
      }
      #expect(pieces.finish() == portable, "length \(length) in pieces")
    }
  }

  @Test func agreesWithSha256sum() throws {
    let path = "/tmp/lazyfs-sha256-\(getpid())"
    let bytes = (0..<200_003).map { UInt8(truncatingIfNeeded: $0 &* 7919) }
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    close(fd)
    defer { unlink(path) }
    let pipe = try #require(popen("sha256sum '\(path)'", "r"))
    var line = [CChar](repeating: 0, count: 256)
    _ = fgets(&line, 256, pipe)
    pclose(pipe)
    let expected = String(decoding: line.prefix(64).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    #expect(digest(bytes) == String(expected))
  }

  @Test func theCPUsExtensionsAreUsedWhereTheCPUHasThem() throws {
    let cpuinfo = String(decoding: try Files.read("/proc/cpuinfo"), as: UTF8.self)
    #expect(SHA256.accelerated == cpuinfo.contains(" sha_ni"), "x86-64 with SHA-NI: accelerated")
  }
}
