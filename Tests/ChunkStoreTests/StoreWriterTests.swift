import ChunkStore
import Codecs
import LinuxSystem
import StoreCatalog
import TestSupport
import Testing

/// Writing files into a store: chunk lists that cover each file, dedup, commit and abort.
@Suite struct StoreWriterTests {
  /// Empty, tiny, exactly minimum-sized, multi-batch random (crosses the writer's 4 MiB batches), compressible
  /// text, and duplicates of the random and tiny files.
  static let files: [[UInt8]] = {
    let big = randomBytes(9 << 20 + 4321, seed: 11)
    let tiny = Array("hello, store\n".utf8)
    return [
      [], tiny, randomBytes(Chunker.minSize, seed: 12), big, textBytes(3 << 20, seed: 13), big, tiny,
      randomBytes(700 << 10, seed: 14),
    ]
  }()

  /// Checks each chunk list against its file: contiguous, complete, cut as `Chunker` cuts the whole file,
  /// digests of the right bytes, and readable from `store`.
  func expectCovers(
    _ chunks: [[FileChunk]], _ files: [[UInt8]], in store: ChunkStore,
    sourceLocation: SourceLocation = #_sourceLocation
  ) throws {
    try #require(chunks.count == files.count, sourceLocation: sourceLocation)
    for (k, (list, data)) in zip(chunks, files).enumerated() {
      #expect(list.map { Int($0.length) } == chunkLengths(data), "file \(k)", sourceLocation: sourceLocation)
      var offset: Int64 = 0
      for c in list {
        #expect(c.offset == offset, "file \(k)", sourceLocation: sourceLocation)
        let slice = Array(data[Int(c.offset)..<(Int(c.offset) + Int(c.length))])
        #expect(c.digest == Digest.of(slice), "file \(k)", sourceLocation: sourceLocation)
        offset += Int64(c.length)
      }
      #expect(offset == Int64(data.count), "file \(k)", sourceLocation: sourceLocation)
      #expect(try reassemble(list, from: store) == data, "file \(k)", sourceLocation: sourceLocation)
    }
  }

  @Test func committedFilesReadBackExactly() throws {
    let t = try TestStore()
    defer { t.remove() }
    let (chunks, stats) = try writeFiles(Self.files, to: t.store)
    try expectCovers(chunks, Self.files, in: t.store)
    #expect(chunks[0].isEmpty, "an empty file has no chunks")
    #expect(chunks[1].count == 1 && chunks[2].count == 1)
    #expect(chunks[3] == chunks[5], "identical files get identical chunk lists")

    let all = chunks.flatMap { $0 }
    var distinct: [Digest: UInt32] = [:]
    for c in all { distinct[c.digest] = c.length }
    #expect(t.store.chunkCount == distinct.count)
    #expect(stats.bytesIn == Int64(Self.files.map(\.count).reduce(0, +)))
    #expect(stats.chunksNew == distinct.count)
    #expect(stats.chunksReused == all.count - distinct.count)
    #expect(stats.bytesNew == distinct.values.reduce(0) { $0 + Int64($1) })
    #expect(stats.bytesStored < stats.bytesNew, "the text compresses")
    let packs = try t.store.committedPackIDs()
    #expect(packs.count == 1)
    #expect(try t.store.storedBytes() == stats.bytesStored + Int64(8 * packs.count), "pack magic plus blocks")
    #expect(try Files.list(t.store.tmpDirectory).isEmpty)
  }

  @Test func shortReadsGiveTheSameChunks() throws {
    let t = try TestStore()
    defer { t.remove() }
    let files = [Self.files[3], Self.files[4], Self.files[1]]
    let (chunks, _) = try writeFiles(files, to: t.store, readSize: 100_003)
    try expectCovers(chunks, files, in: t.store)
  }

  @Test func aSecondSessionStoresNothingNew() throws {
    let t = try TestStore()
    defer { t.remove() }
    let (first, _) = try writeFiles(Self.files, to: t.store)
    let packs = try t.store.committedPackIDs()
    let count = t.store.chunkCount

    let (second, stats) = try writeFiles(Self.files.reversed(), to: t.store)
    #expect(Array(second.reversed()) == first)
    #expect(stats.chunksNew == 0)
    #expect(stats.bytesNew == 0)
    #expect(stats.bytesStored == 0)
    #expect(stats.chunksReused == first.map(\.count).reduce(0, +))
    #expect(try t.store.committedPackIDs() == packs, "no new pack for no new chunks")
    #expect(t.store.chunkCount == count)
  }

  @Test func aSessionAddingSomeNewContentStoresOnlyThat() throws {
    let t = try TestStore()
    defer { t.remove() }
    let old = randomBytes(1 << 20, seed: 21)
    _ = try writeFiles([old], to: t.store)
    var grown = old
    grown += randomBytes(300 << 10, seed: 22)
    let (chunks, stats) = try writeFiles([grown], to: t.store)
    try expectCovers(chunks, [grown], in: t.store)
    #expect(stats.chunksNew > 0 && stats.chunksReused > 0)
    #expect(stats.bytesNew < 600 << 10, "only the tail is new (\(stats.bytesNew) bytes)")
    #expect(try t.store.committedPackIDs().count == 2)
  }

  @Test func reopeningTheStoreFindsEveryChunk() throws {
    let t = try TestStore()
    defer { t.remove() }
    let (chunks, _) = try writeFiles(Self.files, to: t.store)
    let again = try t.reopened()
    #expect(again.chunkCount == t.store.chunkCount)
    #expect(Set(again.allChunks) == Set(t.store.allChunks))
    try expectCovers(chunks, Self.files, in: again)
  }

  @Test func anAbortedSessionLeavesNothing() throws {
    let t = try TestStore()
    defer { t.remove() }
    _ = try writeFiles([Self.files[1], Self.files[4]], to: t.store)
    let packs = try t.store.committedPackIDs()
    let count = t.store.chunkCount

    let fresh = randomBytes(6 << 20, seed: 31)  // past one batch, so a worker has written to a pack
    let writer = try StoreWriter(store: t.store)
    try add(fresh, to: writer)
    #expect(try !storeLockIsFree(t.store), "a session keeps gc away")
    writer.abort()

    #expect(try storeLockIsFree(t.store))
    #expect(t.store.chunkCount == count)
    #expect(try t.store.committedPackIDs() == packs)
    #expect(try Files.list(t.store.tmpDirectory).isEmpty, "the partial pack is removed")
    #expect(try Files.list(t.store.packsDirectory).count == 2 * packs.count)
    let again = try t.reopened()
    #expect(again.chunkCount == count)
    #expect(!chunkDigests(fresh).contains { again.contains($0) })
    #expect(try again.verify(chunksOf: TestImage.chunks).problems.isEmpty)
  }

  @Test func nothingIsVisibleBeforeCommit() throws {
    let t = try TestStore()
    defer { t.remove() }
    let data = randomBytes(5 << 20, seed: 41)
    let writer = try StoreWriter(store: t.store)
    try add(data, to: writer)
    #expect(try t.reopened().chunkCount == 0)
    #expect(try t.store.committedPackIDs().isEmpty)
    let (chunks, _) = try writer.commit()
    #expect(try !storeLockIsFree(t.store), "the lock is held until close, so gc cannot remove the new chunks")
    writer.close()
    #expect(try storeLockIsFree(t.store))
    try expectCovers(chunks, [data], in: t.reopened())
  }

  @Test func aFileThatEndsEarlyIsAnError() throws {
    let t = try TestStore()
    defer { t.remove() }
    let writer = try StoreWriter(store: t.store)
    var given = 0
    #expect(throws: (any Error).self) {
      _ = try writer.addFile(size: 1000) { buffer in
        let n = min(buffer.count, 600 - given)
        buffer.initializeMemory(as: UInt8.self, repeating: 7)
        given += n
        return n
      }
    }
    writer.abort()
    #expect(t.store.chunkCount == 0)
    #expect(try storeLockIsFree(t.store))
  }

  @Test func openingSomethingThatIsNotAStoreFails() throws {
    let dir = try TempDir()
    defer { dir.remove() }
    #expect(throws: CatalogError.self) { try ChunkStore(root: dir.path + "/absent") }
    #expect(throws: CatalogError.self) { try ChunkStore(root: dir.path) }
    try Files.writeAtomically(dir.path + "/layout", Array("lazyfs-store 99\n".utf8))
    #expect(throws: CatalogError.self) { try ChunkStore(root: dir.path, create: true) }
    let made = try ChunkStore(root: dir.path + "/new", create: true)
    #expect(made.chunkCount == 0 && made.packIDs.isEmpty)
    #expect(try ChunkStore(root: dir.path + "/new").chunkCount == 0)
  }

  /// A version 1 store (raw indexes only) opens as it is for reading; a writer marks it version 2 before
  /// it can add a zstd-framed index, so that an older lazyfs refuses it by name.
  @Test func olderLayoutIsReadAndMovedForwardByAWriter() throws {
    let dir = try TempDir()
    defer { dir.remove() }
    _ = try ChunkStore(root: dir.path, create: true)
    let layout = dir.path + "/layout"
    func version() throws -> String { String(decoding: try Files.read(layout), as: UTF8.self) }
    #expect(try version() == "lazyfs-store \(StoreLocation.version)\n" && StoreLocation.version == 2)
    try Files.writeAtomically(layout, Array("lazyfs-store 1\n".utf8))
    _ = try ChunkStore(root: dir.path)
    #expect(try version() == "lazyfs-store 1\n")
    _ = try ChunkStore(root: dir.path, create: true)
    #expect(try version() == "lazyfs-store 2\n")
    for bad in ["lazyfs-store 3\n", "lazyfs-store 0\n", "lazyfs-store x\n", "lazyfs-store 2"] {
      try Files.writeAtomically(layout, Array(bad.utf8))
      let error = #expect(throws: CatalogError.self) { try ChunkStore(root: dir.path, create: true) }
      #expect("\(String(describing: error))".contains("is not a version this lazyfs reads"), "\(bad)")
      // A mount resolves its image through the catalog before it opens the store: refused there too.
      #expect(throws: CatalogError.self) { try ImageCatalog(root: dir.path) }
      #expect(try version() == bad)
    }
  }

  @Test func readingAnUnknownChunkThrows() throws {
    let t = try TestStore()
    defer { t.remove() }
    let digest = Digest.of(Array("not stored".utf8))
    #expect(!t.store.contains(digest))
    #expect(t.store.location(of: digest) == nil)
    let error = #expect(throws: StoreError.self) { try t.store.read(digest) }
    guard case .missingChunk(let d) = error else {
      Issue.record("expected missingChunk, got \(String(describing: error))")
      return
    }
    #expect(d == digest)
  }
}
