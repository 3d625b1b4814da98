import Codecs
import Synchronization

/// What a mount has done so far, kept with atomics so that the read path never takes a lock for them.
///
/// The counters answer the questions lazy loading raises: how much of the image was actually needed
/// (`distinctBytes` against the image's chunk bytes), how well the cache works (`cacheHits` against
/// `chunkLoads`), and what a cold read costs (the load latency histogram).
public final class Statistics: Sendable {
  /// Bytes returned to the kernel by read requests (page cache hits never reach us).
  let bytesRead = Atomic<Int64>(0)
  let readRequests = Atomic<Int64>(0)
  /// Chunks fetched from the source: cache misses that led a load.
  let chunkLoads = Atomic<Int64>(0)
  let cacheHits = Atomic<Int64>(0)
  /// Misses that found the chunk already being loaded by another thread and waited for it.
  let sharedLoads = Atomic<Int64>(0)
  let loadErrors = Atomic<Int64>(0)
  let distinctChunks = Atomic<Int64>(0)
  let distinctBytes = Atomic<Int64>(0)
  let latency = LatencyHistogram()
  /// Which chunks were ever loaded: a set, because an evicted chunk loaded again is not new.
  private let seen = Mutex<Set<Digest>>([])
  private let started = ContinuousClock.now

  public init() {}

  func recordLoad(_ digest: Digest, bytes: Int, microseconds: Int64) {
    chunkLoads.add(1, ordering: .relaxed)
    latency.record(microseconds)
    if seen.withLock({ $0.insert(digest).inserted }) {
      distinctChunks.add(1, ordering: .relaxed)
      distinctBytes.add(Int64(bytes), ordering: .relaxed)
    }
  }

  func recordRead(bytes: Int) {
    readRequests.add(1, ordering: .relaxed)
    bytesRead.add(Int64(bytes), ordering: .relaxed)
  }

  var uptimeSeconds: Double {
    let d = ContinuousClock.now - started
    return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
  }
}

/// Load latencies in microseconds, in buckets four to an octave (so a percentile is good to about 20 %),
/// from 1 µs to about 30 s. Recording is one atomic increment.
final class LatencyHistogram: Sendable {
  static let bucketCount = 4 * 24
  private let buckets: [LatencyBucket] = (0..<LatencyHistogram.bucketCount).map { _ in LatencyBucket() }
  private let maximum = Atomic<Int64>(0)
  private let total = Atomic<Int64>(0)

  static func bucket(_ v: Int64) -> Int {
    if v < 4 { return Int(max(v, 0)) }
    let e = 63 - v.leadingZeroBitCount
    let sub = Int((v >> (e - 2)) & 3)
    return min((e - 1) * 4 + sub, bucketCount - 1)
  }

  /// The largest value that falls in bucket `b`.
  static func upperBound(_ b: Int) -> Int64 {
    if b < 4 { return Int64(b) }
    let e = b / 4 + 1
    return (Int64(5 + b % 4) << (e - 2)) - 1
  }

  func record(_ microseconds: Int64) {
    buckets[Self.bucket(microseconds)].count.add(1, ordering: .relaxed)
    total.add(microseconds, ordering: .relaxed)
    var seen = maximum.load(ordering: .relaxed)
    while microseconds > seen {
      let (exchanged, now) = maximum.compareExchange(
        expected: seen, desired: microseconds, ordering: .relaxed)
      if exchanged { break }
      seen = now
    }
  }

  /// p50, p90, p99 (bucket upper bounds, capped at the maximum seen), the maximum and the mean.
  func summary() -> MountStatistics.Latency {
    let counts = buckets.map { $0.count.load(ordering: .relaxed) }
    let n = counts.reduce(0, +)
    let top = maximum.load(ordering: .relaxed)
    func percentile(_ p: Double) -> Int64 {
      guard n > 0 else { return 0 }
      let rank = Int64((Double(n) * p).rounded(.up))
      var cumulative: Int64 = 0
      for (b, c) in counts.enumerated() {
        cumulative += c
        if cumulative >= rank { return min(Self.upperBound(b), top) }
      }
      return top
    }
    return MountStatistics.Latency(
      p50: percentile(0.5), p90: percentile(0.9), p99: percentile(0.99), max: top,
      mean: n > 0 ? total.load(ordering: .relaxed) / n : 0, count: n)
  }
}

/// One histogram bucket: a class so that an array can hold the (non-copyable) atomic.
final class LatencyBucket: Sendable {
  let count = Atomic<Int64>(0)
}
