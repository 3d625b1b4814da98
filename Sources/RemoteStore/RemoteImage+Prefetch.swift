import ChunkStore
import Codecs
import Dispatch
import LinuxSystem
import Synchronization

/// Fetching a working set ahead of its readers: the blocks that hold a list of chunks, in the list's
/// order, as few large range requests as neighbours allow, several at once.
///
/// The cold start this serves is bound by round trips, not bandwidth: fetched one block per read, a
/// `python` start makes ~150 requests one after another. Here neighbouring blocks of a pack go in one
/// request (gaps of up to `maxGap` bytes would be fetched and dropped), requests are
/// at most `maxRange` bytes, and `parallelism` run at once. The list is cut into windows that grow (8, 16,
/// 32 … blocks), so the first reads' blocks come in the first requests rather than in one giant one, and
/// ranges are formed within a window only, keeping the order.
///
/// Every block fetched goes to the disk cache, where `chunk` finds it; a reader that wants a block while
/// its range is in flight waits for that range instead of asking again, and a reader that wants any other
/// block fetches it at once, by itself (it jumps the queue: the queue is only the prefetch's own).
extension RemoteImage {
  /// A range request: blocks `blocks` of pack `pack`, which lie within `start..<end`.
  public struct PrefetchRange: Sendable, Equatable {
    public var pack: UInt32
    public var start: UInt64
    public var end: UInt64
    public var blocks: [(offset: UInt64, length: UInt32)]
    public static func == (a: Self, b: Self) -> Bool {
      a.pack == b.pack && a.start == b.start && a.end == b.end
        && a.blocks.elementsEqual(b.blocks) { $0.offset == $1.offset && $0.length == $1.length }
    }
  }

  /// What a prefetch did.
  public struct PrefetchOutcome: Sendable {
    public var requests = 0
    public var bytes: Int64 = 0
    public var blocks = 0
    /// The first failure, after which the prefetch stopped (readers still fetch on demand).
    public var failure: String?
  }

  /// Measured on the python image: 64 KiB gaps added nothing over 0 (the profile's blocks that are near
  /// each other are adjacent), so only adjacent blocks share a request; parallel requests hide the rest.
  public static let maxGap: UInt64 = 0
  /// Parallel requests share the link equally, so the first range (what the readers need first) arrives
  /// only when its neighbours do: ranges of at most 1 MiB, four at a time, had numpy imported through
  /// 100 Mbit/s and 20 ms in 1.31 s, against 1.41-1.57 s with 4 MiB (four requests in all).
  public static let maxRange: UInt64 = 1 << 20

  /// The range requests that bring every block holding `chunks` that the disk cache lacks, in order.
  public func prefetchPlan(_ chunks: [Digest]) -> [PrefetchRange] {
    var seen = Set<String>()
    var blocks: [(pack: UInt32, offset: UInt64, length: UInt32)] = []
    for d in chunks {
      guard let loc = locations[d] else { continue }
      let key = Self.blockKey(pack: packIDs[Int(loc.pack)], offset: loc.blockOffset)
      guard seen.insert(key).inserted, !(cache?.contains(key) ?? false) else { continue }
      blocks.append((loc.pack, loc.blockOffset, loc.blockStoredLength))
    }
    var ranges: [PrefetchRange] = []
    var at = 0
    var window = 8
    while at < blocks.count {
      let slice = blocks[at..<min(at + window, blocks.count)].sorted { ($0.pack, $0.offset) < ($1.pack, $1.offset) }
      var current: PrefetchRange?
      for b in slice {
        let end = b.offset + UInt64(b.length)
        if var c = current, c.pack == b.pack, b.offset >= c.end, b.offset - c.end <= Self.maxGap,
          end - c.start <= Self.maxRange
        {
          c.end = end
          c.blocks.append((b.offset, b.length))
          current = c
        } else {
          if let c = current { ranges.append(c) }
          current = PrefetchRange(pack: b.pack, start: b.offset, end: end, blocks: [(b.offset, b.length)])
        }
      }
      if let c = current { ranges.append(c) }
      at += window
      window = min(window * 2, 256)
    }
    return ranges
  }

  /// A prefetch planned: its ranges, and a way to wait until the one holding a chunk has been fetched
  /// (or has failed, or was never started because the prefetch stopped).
  public final class PrefetchJob: Sendable {
    public let ranges: [PrefetchRange]
    /// One per range, left when the range is done one way or another.
    private let groups: [DispatchGroup]
    private let left: Mutex<[Bool]>
    /// Block key → its range.
    private let rangeOfBlock: [String: Int]
    fileprivate let image: RemoteImage

    init(image: RemoteImage, ranges: [PrefetchRange]) {
      self.image = image
      self.ranges = ranges
      groups = ranges.map { _ in
        let g = DispatchGroup()
        g.enter()
        return g
      }
      left = Mutex([Bool](repeating: false, count: ranges.count))
      var map: [String: Int] = [:]
      for (i, r) in ranges.enumerated() {
        let pack = image.packIDs[Int(r.pack)]
        for b in r.blocks { map[RemoteImage.blockKey(pack: pack, offset: b.offset)] = i }
      }
      rangeOfBlock = map
    }

    fileprivate func finish(_ i: Int) {
      let first = left.withLock { l in
        defer { l[i] = true }
        return !l[i]
      }
      if first { groups[i].leave() }
    }

    /// Waits until the ranges holding `chunks` are done; returns at once for chunks in none of them.
    public func wait(for chunks: some Sequence<Digest>) {
      var waited = Set<Int>()
      for d in chunks {
        guard let loc = image.locations[d],
          let i = rangeOfBlock[RemoteImage.blockKey(pack: image.packIDs[Int(loc.pack)], offset: loc.blockOffset)],
          waited.insert(i).inserted
        else { continue }
        groups[i].wait()
      }
    }

    /// Fetches the ranges with `parallelism` requests in flight, in order, until done, `cancelled` says
    /// stop, or a request fails (its error is the outcome's `failure`). Every range is done at return.
    public func run(parallelism: Int, cancelled: @escaping @Sendable () -> Bool = { false }) -> PrefetchOutcome {
      final class Progress: Sendable {
        let next = Atomic<Int>(0)
        let outcome = Mutex(PrefetchOutcome())
      }
      let progress = Progress()
      Threads.run(max(1, min(parallelism, ranges.count))) { [self] _ in
        while !cancelled(), progress.outcome.withLock({ $0.failure == nil }) {
          let i = progress.next.add(1, ordering: .relaxed).oldValue
          guard i < ranges.count else { return }
          defer { finish(i) }
          do {
            let (requests, bytes) = try image.fetch(ranges[i])
            progress.outcome.withLock {
              $0.requests += requests
              $0.bytes += Int64(bytes)
              $0.blocks += ranges[i].blocks.count
            }
          } catch {
            progress.outcome.withLock { if $0.failure == nil { $0.failure = "\(error)" } }
          }
        }
      }
      for i in ranges.indices { finish(i) }
      return progress.outcome.withLock { $0 }
    }
  }

  /// The prefetch of the blocks holding `chunks` that the disk cache lacks (`prefetchPlan`), not started.
  public func prefetchJob(_ chunks: [Digest]) -> PrefetchJob { PrefetchJob(image: self, ranges: prefetchPlan(chunks)) }

  /// A range's blocks that no one has fetched or is fetching (a reader that jumped the queue may have),
  /// as few requests as adjacency allows; they go to the disk cache, and readers of them wait for them
  /// meanwhile. Returns the requests made and the bytes fetched.
  fileprivate func fetch(_ range: PrefetchRange) throws -> (requests: Int, bytes: Int) {
    let pack = packIDs[Int(range.pack)]
    let group = DispatchGroup()
    group.enter()
    let mine = flights.withLock { f in
      range.blocks.compactMap { b -> (offset: UInt64, length: UInt32, key: String)? in
        let key = Self.blockKey(pack: pack, offset: b.offset)
        guard f[key] == nil, !(cache?.contains(key) ?? false) else { return nil }
        f[key] = group
        return (b.offset, b.length, key)
      }
    }
    defer {
      flights.withLock { f in for b in mine { f[b.key] = nil } }
      group.leave()
    }
    var (requests, total) = (0, 0)
    var i = 0
    while i < mine.count {
      var j = i
      while j + 1 < mine.count, mine[j + 1].offset == mine[j].offset + UInt64(mine[j].length) { j += 1 }
      let start = mine[i].offset
      let bytes = try client.get(
        "\(baseURL)/packs/\(pack.hex).pack", range: start..<(mine[j].offset + UInt64(mine[j].length)))
      counters.withLock {
        $0.requests += 1
        $0.bytes += Int64(bytes.count)
      }
      for b in mine[i...j] {
        let lo = Int(b.offset - start)
        cache?.put(b.key, Array(bytes[lo..<(lo + Int(b.length))]))
      }
      (requests, total) = (requests + 1, total + bytes.count)
      i = j + 1
    }
    return (requests, total)
  }

  /// The image's profile as the remote publishes it (`profiles/HEX`), nil when it has none. Cached by
  /// the image's digest, absence included, so that a warm mount makes no request: a node picks up a
  /// newer profile when `lazyfs pull` asks again (`refresh`).
  public func profile(refresh: Bool = false) throws -> [UInt8]? {
    try Self.fetchProfile(digest, baseURL: baseURL, client: client, cache: cache, refresh: refresh)
  }

  static func fetchProfile(
    _ digest: Digest, baseURL: String, client: HTTPClient, cache: DiskCache?, refresh: Bool
  ) throws -> [UInt8]? {
    let key = "profile-\(digest.hex)"
    if !refresh, let cached = cache?.get(key) { return cached.isEmpty ? nil : cached }
    let url = "\(baseURL)/profiles/\(digest.hex)"
    let bytes: [UInt8]
    do { bytes = try client.get(url) } catch let e as RemoteError where e.reason.hasPrefix("HTTP 404") {
      cache?.put(key, [])
      return nil
    }
    cache?.put(key, bytes)
    return bytes
  }
}
