import ChunkStore
import Codecs
import Glibc
import LinuxSystem
import Testing

/// `verify` finds damage and names it; `collectGarbage` removes only what no image uses.
@Suite struct MaintenanceTests {
  /// A store with two images in one pack: `a` (random data, stored raw) and `b` (text, compressed).
  struct TwoImages {
    let t: TestStore
    let a: [UInt8]
    let b: [UInt8]
    let chunksA: [FileChunk]
    let chunksB: [FileChunk]
    let imageA: Digest
    let imageB: Digest

    init() throws {
      t = try TestStore()
      a = randomBytes(2 << 20, seed: 51)
      b = textBytes(2 << 20, seed: 52)
      let (files, _) = try writeFiles([a, b], to: t.store)
      chunksA = files[0]
      chunksB = files[1]
      imageA = try t.store.putIndex(TestImage.bytes([chunksA]))
      imageB = try t.store.putIndex(TestImage.bytes([chunksB]))
    }

    var store: ChunkStore { t.store }
    func remove() { t.remove() }
    func verify(_ store: ChunkStore? = nil) throws -> VerifyReport {
      try (store ?? t.store).verify(chunksOf: TestImage.chunks)
    }
  }

  @Test func aSoundStoreVerifiesClean() throws {
    let s = try TwoImages()
    defer { s.remove() }
    try s.store.setName("app:1", to: s.imageA)
    let report = try s.verify()
    #expect(report.problems.isEmpty, "\(report.problems)")
    #expect(report.packs == 1)
    #expect(report.images == 2)
    #expect(report.chunks == s.store.chunkCount)
  }

  /// A byte flipped inside a chunk of a raw block (random data), or in the middle of a compressed block (text):
  /// verify names the damaged chunks and their pack, reads of them throw, and every other chunk still reads.
  @Test(arguments: [false, true])
  func aFlippedByteIsFoundAndNeverRead(_ compressed: Bool) throws {
    let s = try TwoImages()
    defer { s.remove() }
    let victim = (compressed ? s.chunksB : s.chunksA)[2].digest
    let loc = try #require(s.store.location(of: victim))
    #expect(loc.compressed == compressed)
    let offset =
      compressed
      ? Int(loc.blockOffset) + Int(loc.blockStoredLength) / 2
      : Int(loc.blockOffset) + Int(loc.offsetInBlock) + Int(loc.length) / 2
    try flipByte(try packPath(of: victim, in: s.store), at: offset)

    let report = try s.verify()
    let packID = s.store.packIDs[Int(loc.pack)].hex
    let all = Set(s.store.allChunks)
    let damaged = all.filter { d in report.problems.contains { $0.contains(d.description) } }
    let sameBlock = all.filter { s.store.location(of: $0)?.blockOffset == loc.blockOffset }
    #expect(report.problems.count == damaged.count, "\(report.problems)")
    #expect(report.problems.allSatisfy { $0.contains(packID) }, "\(report.problems)")
    #expect(!damaged.isEmpty && damaged.isSubset(of: sameBlock))
    if !compressed { #expect(damaged == [victim]) }

    for store in [s.store, try s.t.reopened()] {
      for d in all {
        if damaged.contains(d) {
          let error = #expect(throws: StoreError.self) { try store.read(d) }
          if case .corruptChunk(let got, let pack, _) = error {
            #expect(got == d && pack == packID)
          } else {
            Issue.record("expected corruptChunk, got \(String(describing: error))")
          }
        } else {
          #expect(try Digest.of(store.read(d)) == d)
        }
      }
    }
  }

  @Test func aMissingPackIsReported() throws {
    let s = try TwoImages()
    defer { s.remove() }
    let pack = try packPath(of: s.chunksA[0].digest, in: s.store)
    #expect(unlink(pack) == 0)
    let report = try s.verify()
    #expect(report.problems.count == 1)
    #expect(report.problems.first?.contains(s.store.packIDs[0].hex) == true, "\(report.problems)")
    #expect(report.problems.first?.contains("missing") == true, "\(report.problems)")
    #expect(throws: (any Error).self) { try s.t.reopened().read(s.chunksA[0].digest) }
  }

  @Test func aTruncatedPackIsReported() throws {
    let s = try TwoImages()
    defer { s.remove() }
    let last = try #require(s.chunksB.last?.digest)
    let loc = try #require(s.store.location(of: last))
    let pack = try packPath(of: last, in: s.store)
    try truncateFile(pack, to: Int(loc.blockOffset) + 10)

    let report = try s.verify()
    #expect(
      report.problems.contains { $0.contains(last.description) && $0.contains("truncated") }, "\(report.problems)")
    let error = #expect(throws: StoreError.self) { try s.t.reopened().read(last) }
    if case .corruptChunk(let d, _, _) = error {
      #expect(d == last)
    } else {
      Issue.record("got \(String(describing: error))")
    }
    #expect(try s.t.reopened().read(s.chunksA[0].digest).count == Int(s.chunksA[0].length))
  }

  @Test func aDamagedPackIndexIsReported() throws {
    let s = try TwoImages()
    defer { s.remove() }
    let idx = "\(s.store.packsDirectory)/\(s.store.packIDs[0].hex).idx"
    try flipByte(idx, at: 100)
    let report = try s.verify()
    #expect(
      report.problems.contains { $0.contains(s.store.packIDs[0].hex) && $0.contains("idx") }, "\(report.problems)")
    #expect(throws: StoreError.self) { try s.t.reopened() }
  }

  @Test func imagesWithMissingChunksAndDanglingNamesAreReported() throws {
    let s = try TwoImages()
    defer { s.remove() }
    let absent = Digest.of(Array("never stored".utf8))
    let broken = try s.store.putIndex(TestImage.bytes([s.chunksA[0].digest, absent]))
    let unreadable = try s.store.putIndex([1, 2, 3])  // chunksOf throws on it
    try s.store.setName("gone:1", to: Digest.of(Array("no such image".utf8)))
    let report = try s.verify()
    #expect(report.images == 4)
    #expect(report.problems.count == 3, "\(report.problems)")
    #expect(report.problems.contains { $0.contains(broken.description) && $0.contains(absent.description) })
    #expect(report.problems.contains { $0.contains(unreadable.description) })
    #expect(report.problems.contains { $0.contains("gone:1") })
  }

  @Test func aPackWithoutItsIndexIsNotAProblemAndGCRemovesIt() throws {
    let s = try TwoImages()
    defer { s.remove() }
    let orphan = "\(s.store.packsDirectory)/\(Digest.of([9, 9, 9]).hex).pack"
    try Files.writeAtomically(orphan, randomBytes(5000, seed: 53))
    try Files.writeAtomically(s.store.tmpDirectory + "/pack-1-2.pack", randomBytes(3000, seed: 54))
    #expect(try s.verify().problems.isEmpty)
    #expect(try s.t.reopened().chunkCount == s.store.chunkCount, "readers ignore it")

    let report = try s.store.collectGarbage(chunksOf: TestImage.chunks)
    #expect(!Files.exists(orphan))
    #expect(try Files.list(s.store.tmpDirectory).isEmpty)
    #expect(report.chunksRemoved == 0 && report.packsRemoved == 0 && report.packsRewritten == 0)
    #expect(report.bytesFreed == 5000)
    #expect(try s.verify().problems.isEmpty)
    #expect(try reassemble(s.chunksA, from: s.store) == s.a)
  }

  @Test func gcKeepsWhatImagesUseAndRemovesTheRest() throws {
    let s = try TwoImages()
    defer { s.remove() }
    // A third image in a pack of its own, sharing the first chunk of `a`.
    let c = Array(s.a[0..<Int(s.chunksA[0].length)]) + randomBytes(1 << 20, seed: 55)
    let (files, _) = try writeFiles([c], to: s.store)
    let imageC = try s.store.putIndex(TestImage.bytes(files))
    #expect(files[0][0] == s.chunksA[0])
    #expect(try s.store.committedPackIDs().count == 2)
    let onlyB = Set(s.chunksB.map(\.digest))
    let onlyC = Set(files[0].dropFirst().map(\.digest))
    let before = s.store.chunkCount

    // Remove images b and c (as `lazyfs rmi` does, index files only); their chunks stay until gc.
    #expect(unlink(s.store.indexPath(s.imageB)) == 0)
    #expect(unlink(s.store.indexPath(imageC)) == 0)
    #expect(s.store.chunkCount == before)
    let storedBefore = try s.store.storedBytes()
    let report = try s.store.collectGarbage(chunksOf: TestImage.chunks)

    #expect(report.chunksRemoved == onlyB.count + onlyC.count)
    #expect(report.packsRewritten == 1, "the first pack still holds a's chunks")
    #expect(report.packsRemoved == 1, "the second pack holds nothing live")
    #expect(report.bytesFreed > 0)
    let storedAfter = try s.store.storedBytes()
    #expect(report.bytesFreed == storedBefore - storedAfter, "what gc reports is what it freed")
    #expect(s.store.chunkCount == Set(s.chunksA.map(\.digest)).count)
    #expect(!onlyB.union(onlyC).contains { s.store.contains($0) })
    #expect(try s.store.committedPackIDs().count == 1)
    #expect(try reassemble(s.chunksA, from: s.store) == s.a)
    let again = try s.t.reopened()
    #expect(try reassemble(s.chunksA, from: again) == s.a)
    #expect(try s.verify().problems.isEmpty)
    #expect(try s.verify(again).problems.isEmpty)

    // Nothing left to collect.
    let second = try s.store.collectGarbage(chunksOf: TestImage.chunks)
    #expect(second.chunksRemoved == 0 && second.packsRemoved == 0 && second.packsRewritten == 0)
  }

  @Test func gcOfAnUnusedPackFreesItsWholeSize() throws {
    let s = try TwoImages()
    defer { s.remove() }
    let (files, _) = try writeFiles([randomBytes(1 << 20, seed: 56)], to: s.store)
    let stored = try s.store.storedBytes()
    let pack = try packPath(of: files[0][0].digest, in: s.store)
    let size = fileSize(pack)
    // Never given an image: garbage as soon as the session closed.
    let report = try s.store.collectGarbage(chunksOf: TestImage.chunks)
    #expect(report.packsRemoved == 1 && report.packsRewritten == 0)
    #expect(report.chunksRemoved == files[0].count)
    #expect(report.bytesFreed == Int64(size))
    #expect(try s.store.storedBytes() == stored - Int64(size))
    #expect(!Files.exists(pack))
  }

  @Test func gcRunsOnceTheSessionIsOver() throws {
    let s = try TwoImages()
    defer { s.remove() }
    let writer = try StoreWriter(store: s.store)
    #expect(try !storeLockIsFree(s.store), "an open session holds the lock gc needs")
    writer.abort()
    // Checked first, so that a lock left held fails the test instead of hanging gc.
    try #require(try storeLockIsFree(s.store))
    let report = try s.store.collectGarbage(chunksOf: TestImage.chunks)
    #expect(report.chunksRemoved == 0)
    #expect(try s.verify().problems.isEmpty)
  }
}
