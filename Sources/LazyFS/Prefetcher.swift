import Codecs
import Dispatch
import Glibc
import ImageIndex
import LinuxSystem
import Logging
import Profiles
import RemoteStore
import Synchronization

/// Replays a profile on a new mount: the working set a container read last time is fetched and put in the
/// kernel's page cache before the container asks for it.
///
/// Two stages run at once, both in the profile's first-read order:
/// - **fetch** (remote mounts): the blocks of the profile's chunks that neither the local store nor the
///   disk cache holds, as large range requests, several in flight (`RemoteImage.prefetch`). A reader
///   never queues behind it: one that needs a block being fetched waits for that request, one that needs
///   any other block fetches it at once.
/// - **pages**: each profile extent's pages, decompressed and checked as a read would be (`pieces`), are
///   handed to the kernel with FUSE's NOTIFY_STORE, so that the container's reads of them are page-cache
///   hits that never reach the daemon. Only pages not resident already (cachestat(2)) are pushed, and only
///   up to the budget: the smaller of the one asked for and the memory no one uses (`PageCache.spareBytes`),
///   so prefetch never makes the kernel reclaim the page cache of containers already running. The stage
///   waits for the fetch where it is behind it, so it follows the network.
///
/// The kernel takes NOTIFY_STORE only for an inode it knows: the stage opens each file through the mount
/// (a lookup answered by this daemon), which also gives cachestat its descriptor.
final class Prefetcher: Sendable {
  let profile: Profile
  let profileName: String
  let budget: Int64
  let parallelism: Int
  let counters: PrefetchCounters
  private let filesystem: ImageFilesystem
  private let session: FuseSession
  private let stopped = Atomic<Bool>(false)
  private let logger: Logger

  /// `filesystem.prefetch` holds the counters.
  /// `parallelism`: requests in flight (see `RemoteImage.maxRange` for why not more).
  init(
    profile: Profile, filesystem: ImageFilesystem, session: FuseSession, budget: Int64,
    parallelism: Int = 4, logger: Logger
  ) {
    self.profile = profile
    self.profileName = profile.digest.description
    self.counters = filesystem.prefetch ?? PrefetchCounters()
    self.filesystem = filesystem
    self.session = session
    let effective = min(budget, PageCache.spareBytes() ?? budget)
    self.budget = effective
    self.parallelism = parallelism
    self.logger = logger
    let name = profileName
    counters.state.withLock {
      $0.profile = name
      $0.budget = effective
    }
  }

  /// Starts both stages on threads of their own.
  func start() {
    let index = filesystem.index
    var chunks: [Digest] = []
    var sizes: [Digest: Int64] = [:]
    for r in profile.records {
      let x = index.extent(Int(r.extent))
      if sizes.updateValue(Int64(x.length), forKey: x.chunk) == nil { chunks.append(x.chunk) }
    }
    counters.planned(sizes)
    let job: RemoteImage.PrefetchJob?
    if let source = filesystem.source as? RemoteChunkSource {
      let fetch = source.remote.prefetchJob(chunks.filter { !(source.local?.contains($0) ?? false) })
      counters.state.withLock { $0.fetchRanges = fetch.ranges.count }
      DispatchQueue.global().async { [self] in
        let began = ContinuousClock.now
        let outcome = fetch.run(parallelism: parallelism) { [self] in stopped.load(ordering: .relaxed) }
        counters.fetched(outcome)
        if let failure = outcome.failure { logger.warning("prefetch stopped fetching: \(failure)") }
        logger.info(
          "prefetch fetched \(outcome.bytes) bytes in \(outcome.requests) requests in \(ContinuousClock.now - began)")
      }
      job = fetch
    } else {
      job = nil
    }
    DispatchQueue.global().async { [self] in
      let began = ContinuousClock.now
      pushPages(after: job)
      logger.info("prefetch pages stage ended after \(ContinuousClock.now - began)")
    }
  }

  func stop() { stopped.store(true, ordering: .relaxed) }

  /// The pages stage: page-aligned runs of each file's profile extents, in profile order. Each waits for
  /// the fetch stage's request holding its chunks (`job`), rather than fetch them a second time.
  private func pushPages(after job: RemoteImage.PrefetchJob?) {
    let index = filesystem.index
    var segments: [(entry: Int, range: Range<Int64>)] = []
    let page: Int64 = 4096
    for r in profile.records {
      let entry = Int(r.entry)
      let x = index.extent(Int(r.extent))
      let size = index.attributes(entry).size
      var lo = x.offset / page * page
      let hi = min((x.offset + Int64(x.length) + page - 1) / page * page, size)
      // A segment that continues the last one (which reached its size) starts where it ended: the page they
      // would share goes once, not twice (by two workers at the same time).
      if let last = segments.last, last.entry == entry, lo < last.range.upperBound, hi > last.range.upperBound,
        hi - last.range.lowerBound > 1 << 20
      {
        lo = last.range.upperBound
      }
      guard lo < hi else { continue }
      if let last = segments.last, last.entry == entry, lo <= last.range.upperBound, hi >= last.range.lowerBound,
        max(hi, last.range.upperBound) - min(lo, last.range.lowerBound) <= 1 << 20
      {
        segments[segments.count - 1].range = min(lo, last.range.lowerBound)..<max(hi, last.range.upperBound)
      } else {
        segments.append((entry, lo..<hi))
      }
    }
    let recorded = Set(profile.records.map { Int($0.extent) })
    // Two workers take the segments in order (a segment each, in turn): decompressing and copying one
    // while the other waits on the kernel or a fetch keeps the stage ahead of a container that starts at
    // once. The budget is reserved before a push, so that together they never pass it.
    final class Shared: Sendable {
      let next = Atomic<Int>(0)
      let reserved = Mutex<Int64>(0)
      let ended = Mutex<String?>(nil)
    }
    let shared = Shared()
    let budget = self.budget
    let ordered = segments
    Threads.run(Self.pageWorkers) { [self] _ in
      while shared.ended.withLock({ $0 }) == nil {
        let i = shared.next.add(1, ordering: .relaxed).oldValue
        guard i < ordered.count else { return }
        let s = ordered[i]
        if stopped.load(ordering: .relaxed) { return shared.ended.withLock { $0 = $0 ?? "stopped" } }
        // Whole pages only, and none that holds bytes of an extent the profile lacks: its chunk would be
        // fetched for a page no reader asked for last time.
        guard var range = trimmed(s.entry, s.range, to: recorded) else { continue }
        // Never past the budget: a segment is cut to what is left of it, in whole pages, reserved now.
        let cut = shared.reserved.withLock { reserved -> Range<Int64> in
          var r = range
          if r.count > budget - reserved { r = r.lowerBound..<(r.lowerBound + (budget - reserved) / page * page) }
          reserved += Int64(r.count)
          return r
        }
        range = cut
        if range.isEmpty { return shared.ended.withLock { $0 = $0 ?? "budget of \(budget) bytes spent" } }
        let length = range.upperBound - range.lowerBound
        let resident = residentBytes(s.entry, range) ?? length
        let pushed: Int64
        if resident >= length {
          pushed = 0
        } else {
          job?.wait(for: chunks(of: s.entry, in: range))
          // What the page cache gained, measured (two workers, or a reader, may fill the same pages).
          do {
            pushed = try push(s.entry, range) ? max(0, (residentBytes(s.entry, range) ?? resident) - resident) : 0
          } catch {
            // A chunk that cannot be loaded (logged by the cache) means the remote is down or lying:
            // readers get EIO for it and try again themselves; the prefetch stops rather than ask again.
            counters.state.withLock { $0.failure = $0.failure ?? "reading \(index.path(of: s.entry)): \(error)" }
            return shared.ended.withLock { $0 = $0 ?? "stopped by a chunk that could not be loaded" }
          }
        }
        shared.reserved.withLock { $0 -= length - pushed }
        if pushed > 0 { counters.pushed(pushed) }
      }
    }
    finish(shared.ended.withLock { $0 } ?? "done")
  }

  static let pageWorkers = 2

  /// Loads bytes `range` of file `entry` as a read would and hands them to the kernel's page cache.
  /// Whether the kernel took them (it does not for an inode it has forgotten).
  private func push(_ entry: Int, _ range: Range<Int64>) throws -> Bool {
    let length = Int(range.upperBound - range.lowerBound)
    let pieces = try filesystem.pieces(of: entry, offset: range.lowerBound, size: length)
    counters.used(pieces.map(\.digest))
    var buffer = [UInt8](repeating: 0, count: length)
    var at = 0
    buffer.withUnsafeMutableBytes { b in
      for p in pieces {
        b.baseAddress!.advanced(by: at).copyMemory(
          from: p.chunk.bytes.baseAddress! + p.range.lowerBound, byteCount: p.range.count)
        at += p.range.count
      }
    }
    guard at == length else { return false }
    let ino = UInt64(filesystem.index.inode(entry)) + 1
    let rc = buffer.withUnsafeBytes { session.storeInPageCache(inode: ino, offset: range.lowerBound, bytes: $0) }
    if rc != 0 { logger.debug("NOTIFY_STORE for \(filesystem.index.path(of: entry)) failed: \(Errno(-rc))") }
    return rc == 0
  }

  /// `range` of file `entry` less its first and last pages while they hold bytes of an extent not in
  /// `recorded`; nil when nothing is left.
  private func trimmed(_ entry: Int, _ range: Range<Int64>, to recorded: Set<Int>) -> Range<Int64>? {
    let index = filesystem.index
    let page: Int64 = 4096
    var (lo, hi) = (range.lowerBound, range.upperBound)
    func clean(_ from: Int64, _ to: Int64) -> Bool {
      guard var k = index.extent(of: entry, at: from) else { return false }
      while k < index.extents(entry).upperBound, index.extent(k).offset < to {
        if !recorded.contains(k) { return false }
        k += 1
      }
      return true
    }
    while lo < hi, !clean(lo, min(lo + page, hi)) { lo += page }
    while lo < hi {
      let lastPage = (hi - 1) / page * page
      if clean(lastPage, hi) { break }
      hi = lastPage
    }
    return lo < hi ? lo..<hi : nil
  }

  /// The chunks of the extents of file `entry` that overlap `range`.
  private func chunks(of entry: Int, in range: Range<Int64>) -> [Digest] {
    let index = filesystem.index
    guard var k = index.extent(of: entry, at: range.lowerBound) else { return [] }
    var out: [Digest] = []
    while k < index.extents(entry).upperBound, index.extent(k).offset < range.upperBound {
      out.append(index.extent(k).chunk)
      k += 1
    }
    return out
  }

  /// The bytes of `range` of file `entry` in the page cache, through a descriptor opened on the mount for
  /// that moment only (an open descriptor would make `lazyfs umount` fail with EBUSY). The open also makes
  /// the kernel look the file up, so that it knows the inode NOTIFY_STORE names; it keeps it cached
  /// after the close. Nil when the file cannot be opened.
  private func residentBytes(_ entry: Int, _ range: Range<Int64>) -> Int64? {
    let path = filesystem.mountpoint + "/" + filesystem.index.path(of: entry)
    guard let fd = try? FileDescriptor.open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK) else { return nil }
    let resident = (try? PageCache.residentBytes(fd, offset: range.lowerBound, length: Int64(range.count))) ?? 0
    fd.close()
    return resident
  }

  private func finish(_ how: String) {
    counters.state.withLock { $0.pagesDone = how }
    logger.info(
      "prefetch of \(profileName): pages \(how); \(counters.state.withLock { $0.pageCacheBytes }) bytes put in the page cache"
    )
  }
}

/// What the prefetch did and how reads fared, for `lazyfs stats` (`PrefetchStatistics`).
public final class PrefetchCounters: Sendable {
  struct State {
    /// The profile's chunks and their sizes; those a read or the page stage has used.
    var chunks: [Digest: Int64] = [:]
    var used = Set<Digest>()
    var fetchRanges = 0
    var fetch: RemoteImage.PrefetchOutcome?
    var pageCacheBytes: Int64 = 0
    var readHitBytes: Int64 = 0
    var readMissBytes: Int64 = 0
    var readOutsideBytes: Int64 = 0
    var profile: String?
    var budget: Int64 = 0
    var pagesDone: String?
    var failure: String?
  }
  let state = Mutex(State())

  public init() {}

  func planned(_ chunks: [Digest: Int64]) { state.withLock { $0.chunks = chunks } }
  func fetched(_ outcome: RemoteImage.PrefetchOutcome) { state.withLock { $0.fetch = outcome } }
  func pushed(_ bytes: Int64) { state.withLock { $0.pageCacheBytes += bytes } }
  func used(_ chunks: some Sequence<Digest>) { state.withLock { s in for c in chunks { s.used.insert(c) } } }

  /// A read that reached the mount: the bytes of chunks that were in memory already (put there by the
  /// prefetch or an earlier read) count as prefetched when the profile has them; the bytes of chunks it
  /// had to wait for (loaded from the store or the network while it waited) count as missing.
  func read(_ pieces: [ImageFilesystem.Piece]) {
    state.withLock { s in
      for p in pieces {
        if p.waited {
          s.readMissBytes += Int64(p.range.count)
        } else if s.chunks[p.digest] != nil {
          s.readHitBytes += Int64(p.range.count)
        }
        if s.chunks[p.digest] != nil { s.used.insert(p.digest) } else { s.readOutsideBytes += Int64(p.range.count) }
      }
    }
  }
}
