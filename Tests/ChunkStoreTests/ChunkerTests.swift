import ChunkStore
import Codecs
import Testing

/// Content-defined chunking: sizes within bounds, cut points that depend only on nearby bytes.
@Suite struct ChunkerTests {
  static let random4M = randomBytes(4 << 20, seed: 1)

  @Test func sameInputGivesSameCuts() {
    let data = randomBytes(3 << 20, seed: 7)
    let copy = Array(data)  // another buffer with the same bytes
    let first = chunkLengths(data)
    #expect(first.count > 10)
    #expect(chunkLengths(copy) == first)
    #expect(chunkDigests(data) == chunkDigests(copy))
  }

  /// Inputs named, so that a test case prints as its name rather than its bytes.
  enum Sample: String, CaseIterable, CustomTestStringConvertible {
    case random, text, zeros, justOverMinimum

    var bytes: [UInt8] {
      switch self {
      case .random: randomBytes(4 << 20, seed: 2)
      case .text: textBytes(3 << 20, seed: 3)
      case .zeros: [UInt8](repeating: 0, count: (1 << 20) + 12345)
      case .justOverMinimum: randomBytes(Chunker.minSize + 1, seed: 4)
      }
    }

    var testDescription: String { rawValue }
  }

  @Test(arguments: Sample.allCases)
  func everyCutIsWithinBounds(_ sample: Sample) {
    let data = sample.bytes
    let name = sample.rawValue
    let lengths = chunkLengths(data)
    #expect(lengths.reduce(0, +) == data.count, "pieces must cover the input exactly")
    for (k, n) in lengths.enumerated() {
      if k < lengths.count - 1 {
        #expect(n > Chunker.minSize && n <= Chunker.maxSize, "piece \(k) of \(name) is \(n) bytes")
      } else {
        #expect(n > 0 && n <= Chunker.maxSize, "last piece of \(name) is \(n) bytes")
      }
    }
    // Concatenating the pieces reproduces the input.
    var at = 0
    var joined: [UInt8] = []
    for n in lengths {
      joined += data[at..<(at + n)]
      at += n
    }
    #expect(joined == data)
  }

  @Test func randomDataAveragesNearTheTargetSize() {
    let data = randomBytes(16 << 20, seed: 5)
    let lengths = chunkLengths(data)
    let mean = data.count / lengths.count
    #expect(mean > Chunker.averageSize / 2 && mean < Chunker.averageSize * 2, "mean chunk size \(mean)")
    // Normalised chunking: few pieces are forced at the maximum.
    #expect(lengths.dropLast().filter { $0 == Chunker.maxSize }.count < lengths.count / 10)
  }

  @Test func zerosAreCutOnlyAtTheMaximum() {
    let data = [UInt8](repeating: 0, count: 3 * Chunker.maxSize + 100)
    #expect(chunkLengths(data) == [Chunker.maxSize, Chunker.maxSize, Chunker.maxSize, 100])
  }

  @Test func smallInputIsOnePieceAtEndAndUndecidedOtherwise() {
    for n in [0, 1, 4096, Chunker.minSize] {
      let data = randomBytes(n, seed: 6)
      data.withUnsafeBytes { b in
        #expect(Chunker.cut(b, atEnd: true) == n)
        #expect(Chunker.cut(b, atEnd: false) == nil)
      }
    }
  }

  @Test func withoutACutPointMoreBytesAreNeeded() {
    let zeros = [UInt8](repeating: 0, count: 100 << 10)
    zeros.withUnsafeBytes { b in
      #expect(Chunker.cut(b, atEnd: false) == nil)
      #expect(Chunker.cut(b, atEnd: true) == zeros.count)
    }
    let more = [UInt8](repeating: 0, count: Chunker.maxSize + 1)
    more.withUnsafeBytes { b in #expect(Chunker.cut(b, atEnd: false) == Chunker.maxSize) }
  }

  /// A streaming caller sees a prefix of the file: a cut found in a prefix must be the cut the whole file
  /// gives, and a prefix too short to decide must say so.
  @Test(arguments: [Chunker.minSize + 1, 20_000, 40_000, 65_536, 100_000, 200_000, Chunker.maxSize])
  func aPrefixCutsWhereTheWholeDoes(_ prefix: Int) throws {
    let data = Self.random4M
    for start in stride(from: 0, to: 2 << 20, by: 333_333) {
      let whole = data.withUnsafeBytes { Chunker.cut(UnsafeRawBufferPointer(rebasing: $0[start...]), atEnd: true) }
      let part = data.withUnsafeBytes {
        Chunker.cut(UnsafeRawBufferPointer(rebasing: $0[start..<(start + prefix)]), atEnd: false)
      }
      let cut = try #require(whole)
      if cut <= prefix {
        #expect(part == cut, "prefix \(prefix) at \(start)")
      } else {
        #expect(part == nil, "prefix \(prefix) at \(start): whole file cuts at \(cut)")
      }
    }
  }

  @Test func anInsertionNearTheStartKeepsMostChunks() {
    let original = Self.random4M
    var edited = original
    edited.insert(contentsOf: [1, 2, 3, 4, 5], at: 1000)
    let before = chunkDigests(original)
    let after = chunkDigests(edited)
    let shared = Set(before).intersection(after).count
    #expect(before.count > 30)
    #expect(Double(shared) > 0.8 * Double(before.count), "\(shared) of \(before.count) chunks shared")
    #expect(before.first != after.first, "the chunk holding the insertion must change")
  }

  @Test func aDeletionInTheMiddleKeepsChunksOnBothSides() {
    let original = Self.random4M
    var edited = original
    edited.removeSubrange((2 << 20)..<((2 << 20) + 100))
    let before = chunkDigests(original)
    let after = Set(chunkDigests(edited))
    #expect(after.contains(before[1]) && after.contains(before[before.count - 2]))
    #expect(Double(after.intersection(before).count) > 0.8 * Double(before.count))
  }
}
