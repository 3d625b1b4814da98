import Codecs
import Dispatch
import Logging
import Synchronization

/// The verified bytes of one chunk, at a fixed address for as long as anyone holds the object: a read reply
/// points the kernel straight at them (`fuse_reply_iov`), with no copy into a reply buffer.
public final class ChunkData: @unchecked Sendable {
  public let bytes: UnsafeRawBufferPointer

  init(_ source: [UInt8]) {
    let p = UnsafeMutableRawBufferPointer.allocate(byteCount: max(source.count, 1), alignment: 16)
    source.withUnsafeBytes { p.copyMemory(from: $0) }
    bytes = UnsafeRawBufferPointer(rebasing: p[0..<source.count])
  }

  deinit { bytes.baseAddress.map { UnsafeMutableRawPointer(mutating: $0).deallocate() } }

  public var count: Int { bytes.count }
}

/// A bounded, thread-safe cache of decompressed, verified chunks in front of a `ChunkSource`.
///
/// Why: the kernel reads a file in requests of at most 128 KiB to 1 MiB, while a chunk averages 64 KiB and
/// may be 256 KiB, so consecutive requests land in the same chunk; without a cache each would pay the
/// decompression and the SHA-256 again. Least recently used chunks go first once `capacity` bytes are held.
///
/// Single flight: the first thread to miss on a digest loads it; others that miss on it meanwhile wait for
/// that load instead of starting their own (a program start touches the same chunk from many threads, and
/// a remote source must not fetch it N times). A failed load is not cached: each failure is reported to the
/// threads waiting on it, logged once, and the next read tries again.
public final class ChunkCache: Sendable {
  private struct State {
    var ready: [Digest: (data: ChunkData, node: Int)] = [:]
    var loading: [Digest: Flight] = [:]
    var order = RecencyList()
    var bytes = 0
  }

  private let source: any ChunkSource
  private let state = Mutex(State())
  public let capacity: Int
  let statistics: Statistics
  private let logger: Logger

  public init(
    source: any ChunkSource, capacity: Int, statistics: Statistics, logger: Logger = Logger(label: "lazyfs.cache")
  ) {
    self.source = source
    self.capacity = capacity
    self.statistics = statistics
    self.logger = logger
  }

  /// Whether `digest` is held now (a load in progress does not count).
  public func contains(_ digest: Digest) -> Bool { state.withLock { $0.ready[digest] != nil } }

  /// Bytes held now.
  public var bytes: Int { state.withLock { $0.bytes } }

  /// The chunk's bytes, from the cache, from a load in progress, or loaded now.
  public func chunk(_ digest: Digest) throws -> ChunkData {
    var waited = false
    return try chunk(digest, waited: &waited)
  }

  /// The same, saying whether the caller had to wait for a load (its own or another thread's).
  public func chunk(_ digest: Digest, waited: inout Bool) throws -> ChunkData {
    enum Step {
      case hit(ChunkData)
      case wait(Flight)
      case load(Flight)
    }
    let step = state.withLock { s -> Step in
      if let entry = s.ready[digest] {
        s.order.touch(entry.node)
        return .hit(entry.data)
      }
      if let flight = s.loading[digest] {
        flight.waiters += 1
        return .wait(flight)
      }
      let flight = Flight()
      s.loading[digest] = flight
      return .load(flight)
    }
    switch step {
    case .hit(let data):
      statistics.cacheHits.add(1, ordering: .relaxed)
      return data
    case .wait(let flight):
      waited = true
      statistics.sharedLoads.add(1, ordering: .relaxed)
      flight.done.wait()
      return try flight.result!.get()
    case .load(let flight):
      waited = true
      return try load(digest, flight)
    }
  }

  /// Starts loading `digests` on another thread, in order, skipping any that is cached or already being
  /// loaded. A read that spans many chunks hands its second half here and loads the first half itself,
  /// so decompression and digest checks run on two cores while the reader waits; a chunk the reader
  /// reaches while it is still loading here is waited for, never loaded twice.
  func loadAhead(_ digests: [Digest]) {
    DispatchQueue.global().async { [self] in
      for digest in digests {
        let flight = state.withLock { s -> Flight? in
          if s.ready[digest] != nil || s.loading[digest] != nil { return nil }
          let flight = Flight()
          s.loading[digest] = flight
          return flight
        }
        if let flight { _ = try? load(digest, flight) }
      }
    }
  }

  private func load(_ digest: Digest, _ flight: Flight) throws -> ChunkData {
    let start = ContinuousClock.now
    let result = Result { ChunkData(try source.chunk(digest)) }
    let elapsed = ContinuousClock.now - start
    let micros = elapsed.components.seconds * 1_000_000 + elapsed.components.attoseconds / 1_000_000_000_000
    switch result {
    case .success(let data): statistics.recordLoad(digest, bytes: data.count, microseconds: micros)
    case .failure(let error):
      statistics.loadErrors.add(1, ordering: .relaxed)
      logger.error("chunk \(digest) could not be loaded: \(error)")
    }
    // Publish, then wake the waiters: a waiter that arrived before the flight left the table is counted,
    // and none can join after it has left.
    flight.result = result
    let waiters = state.withLock { s -> Int in
      s.loading[digest] = nil
      if case .success(let data) = result {
        s.ready[digest] = (data, s.order.insert(digest))
        s.bytes += data.count
        while s.bytes > capacity, s.order.count > 1, let victim = s.order.removeOldest() {
          if let gone = s.ready.removeValue(forKey: victim) { s.bytes -= gone.data.count }
        }
      }
      return flight.waiters
    }
    for _ in 0..<waiters { flight.done.signal() }
    return try result.get()
  }
}

/// A load in progress. `waiters` changes only under the cache's lock; `result` is written once before
/// `done` is signalled and read only after waiting on it, so the semaphore orders the two.
private final class Flight: @unchecked Sendable {
  var waiters = 0
  var result: Result<ChunkData, any Error>?
  let done = DispatchSemaphore(value: 0)
}

/// The digests in the cache from least to most recently used, as a doubly linked list in arrays, so that
/// touching, inserting and evicting are O(1) without allocating a node per use.
struct RecencyList {
  private var keys: [Digest] = []
  private var prev: [Int] = []
  private var next: [Int] = []
  private var free: [Int] = []
  private var head = -1  // most recent
  private var tail = -1  // least recent
  private(set) var count = 0

  mutating func insert(_ key: Digest) -> Int {
    let node: Int
    if let reused = free.popLast() {
      node = reused
      keys[node] = key
    } else {
      node = keys.count
      keys.append(key)
      prev.append(-1)
      next.append(-1)
    }
    linkFront(node)
    count += 1
    return node
  }

  mutating func touch(_ node: Int) {
    guard node != head else { return }
    unlink(node)
    linkFront(node)
  }

  mutating func removeOldest() -> Digest? {
    guard tail >= 0 else { return nil }
    let node = tail
    unlink(node)
    free.append(node)
    count -= 1
    return keys[node]
  }

  private mutating func linkFront(_ node: Int) {
    prev[node] = -1
    next[node] = head
    if head >= 0 { prev[head] = node }
    head = node
    if tail < 0 { tail = node }
  }

  private mutating func unlink(_ node: Int) {
    if prev[node] >= 0 { next[prev[node]] = next[node] } else { head = next[node] }
    if next[node] >= 0 { prev[next[node]] = prev[node] } else { tail = prev[node] }
    prev[node] = -1
    next[node] = -1
  }
}
