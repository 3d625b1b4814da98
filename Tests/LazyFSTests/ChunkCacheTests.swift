import Codecs
import Foundation
import LazyFS
import Synchronization
import Testing

/// A source that counts its loads, takes its time, and fails for digests it is told to.
final class SlowSource: ChunkSource {
  let loads = Atomic<Int>(0)
  let failing: Set<Digest>
  let chunks: [Digest: [UInt8]]

  init(_ chunks: [[UInt8]], failing: Set<Digest> = []) {
    self.chunks = Dictionary(uniqueKeysWithValues: chunks.map { (Digest.of($0), $0) })
    self.failing = failing
  }

  struct Failure: Error {}

  func chunk(_ digest: Digest) throws -> [UInt8] {
    loads.add(1, ordering: .relaxed)
    usleep(50_000)
    if failing.contains(digest) { throw Failure() }
    return chunks[digest]!
  }
}

@Suite("Chunk cache")
struct ChunkCacheTests {
  var chunks: [[UInt8]] { (0..<4).map { i in [UInt8](repeating: UInt8(i), count: 1000) } }

  @Test("many threads missing on one chunk cause one load")
  func singleFlight() {
    let source = SlowSource(chunks)
    let cache = ChunkCache(source: source, capacity: 1 << 20, statistics: Statistics())
    let digest = Digest.of(chunks[1])
    let wrong = Atomic<Int>(0)
    onThreads(16) { _ in
      if (try? cache.chunk(digest)).map({ Array($0.bytes) }) != [UInt8](repeating: 1, count: 1000) {
        wrong.add(1, ordering: .relaxed)
      }
    }
    #expect(source.loads.load(ordering: .relaxed) == 1)
    #expect(wrong.load(ordering: .relaxed) == 0)
  }

  @Test("a failed load reaches every waiter, is not cached, and is tried again")
  func failedLoad() {
    let digest = Digest.of(chunks[2])
    let source = SlowSource(chunks, failing: [digest])
    let cache = ChunkCache(source: source, capacity: 1 << 20, statistics: Statistics())
    let failures = Atomic<Int>(0)
    onThreads(8) { _ in
      if (try? cache.chunk(digest)) == nil { failures.add(1, ordering: .relaxed) }
    }
    #expect(failures.load(ordering: .relaxed) == 8)
    #expect(source.loads.load(ordering: .relaxed) == 1)
    #expect(throws: SlowSource.Failure.self) { try cache.chunk(digest) }
    #expect(source.loads.load(ordering: .relaxed) == 2)
  }

  @Test("the least recently used chunk goes first, and the cache stays within its capacity")
  func eviction() throws {
    let source = SlowSource(chunks)
    let cache = ChunkCache(source: source, capacity: 3000, statistics: Statistics())
    let d = chunks.map { Digest.of($0) }
    for k in 0..<3 { _ = try cache.chunk(d[k]) }
    _ = try cache.chunk(d[0])  // now 1 is the oldest
    _ = try cache.chunk(d[3])  // evicts 1
    #expect(cache.bytes <= 3000)
    #expect(source.loads.load(ordering: .relaxed) == 4)
    _ = try cache.chunk(d[0])
    #expect(source.loads.load(ordering: .relaxed) == 4)
    _ = try cache.chunk(d[1])
    #expect(source.loads.load(ordering: .relaxed) == 5)
  }
}
