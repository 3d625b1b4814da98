import Codecs
import Testing

@Suite struct DigestTests {
  @Test func knownVectors() {
    #expect(Digest.of(Array("abc".utf8)).hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    #expect(Digest.of([]).hex == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
  }

  @Test func hexRoundTripAndRejects() {
    let d = Digest.of(Array("lazyfs".utf8))
    #expect(Digest(hex: d.description) == d)
    #expect(Digest(hex: d.hex) == d)
    #expect(Digest(hex: "sha256:xyz") == nil)
    #expect(Digest(hex: String(d.hex.dropLast())) == nil)
    #expect(Digest(hex: "+" + String(d.hex.dropFirst())) == nil)
  }

  @Test func incrementalEqualsOneShot() {
    let data = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
    var h = SHA256Hasher()
    data.withUnsafeBytes { b in
      h.update(UnsafeRawBufferPointer(rebasing: b[0..<777]))
      h.update(UnsafeRawBufferPointer(rebasing: b[777...]))
    }
    #expect(h.finalize() == Digest.of(data))
  }
}

@Suite struct CompressionTests {
  @Test func zstdRoundTripAndCorruption() throws {
    let data = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 / 7) }
    let packed = data.withUnsafeBytes { Zstd.compress($0, level: 3) }
    #expect(packed.count < data.count / 4)
    var out = [UInt8](repeating: 0, count: data.count)
    try packed.withUnsafeBytes { p in try out.withUnsafeMutableBytes { try Zstd.decompress(p, into: $0) } }
    #expect(out == data)
    // A bad magic and a cut-short frame are errors (bit flips inside are caught by the chunk's digest).
    var bad = packed
    bad[0] ^= 0xff
    let truncated = Array(packed.prefix(packed.count / 2))
    for broken in [bad, truncated] {
      #expect(throws: CodecError.self) {
        try broken.withUnsafeBytes { p in try out.withUnsafeMutableBytes { try Zstd.decompress(p, into: $0) } }
      }
    }
  }

  @Test func detectsCompressionByMagic() {
    #expect(Compression.detect([0x1f, 0x8b, 8, 0]) == .gzip)
    #expect(Compression.detect([0x28, 0xb5, 0x2f, 0xfd]) == .zstd)
    #expect(Compression.detect(Array("ustar".utf8)) == .none)
  }

  @Test func readsThroughDecompressorUntouchedWhenPlain() throws {
    let data = Array("plain bytes, not compressed".utf8)
    let s = try Compression.decompressing(MemoryStream(data))
    var out = [UInt8](repeating: 0, count: 100)
    let n = try out.withUnsafeMutableBytes { try s.readFully(into: $0) }
    #expect(Array(out[0..<n]) == data)
  }
}
