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
  init(
    profile: Profile, filesystem: ImageFilesystem, session: FuseSession, budget: Int64,
    parallelism: Int = 8, logger: Logger
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
    if let source = filesystem.source as? RemoteChunkSource {
      let missing = chunks.filter { !(source.local?.contains($0) ?? false) }
      let ranges = source.remote.prefetchPlan(missing)
      counters.state.withLock { $0.fetchRanges = ranges.count }
      DispatchQueue.global().async { [self] in
        let outcome = source.remote.prefetch(ranges, parallelism: parallelism) { [self] in
          stopped.load(ordering: .relaxed)
        }
        counters.fetched(outcome)
        if let failure = outcome.failure { logger.warning("prefetch stopped fetching: \(failure)") }
      }
    }
    DispatchQueue.global().async { [self] in pushPages() }
  }

  func stop() { stopped.store(true, ordering: .relaxed) }

  /// The pages stage: page-aligned runs of each file's profile extents, in profile order.
  private func pushPages() {
    let index = filesystem.index
    var segments: [(entry: Int, range: Range<Int64>)] = []
    let page: Int64 = 4096
    for r in profile.records {
      let entry = Int(r.entry)
      let x = index.extent(Int(r.extent))
      let size = index.attributes(entry).size
      let lo = x.offset / page * page
      let hi = min((x.offset + Int64(x.length) + page - 1) / page * page, size)
      guard lo < hi else { continue }
      if let last = segments.last, last.entry == entry, lo <= last.range.upperBound, hi >= last.range.lowerBound,
        max(hi, last.range.upperBound) - min(lo, last.range.lowerBound) <= 1 << 20
      {
        segments[segments.count - 1].range = min(lo, last.range.lowerBound)..<max(hi, last.range.upperBound)
      } else {
        segments.append((entry, lo..<hi))
      }
    }
    var open: (entry: Int, fd: Int32)?
    defer { if let open { close(open.fd) } }
    var added: Int64 = 0
    for s in segments {
      if stopped.load(ordering: .relaxed) { return finish("stopped") }
      if added >= budget { return finish("budget of \(budget) bytes spent") }
      if open?.entry != s.entry {
        if let open { close(open.fd) }
        let path = filesystem.mountpoint + "/" + index.path(of: s.entry)
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        open = fd >= 0 ? (s.entry, fd) : nil
      }
      guard let fd = open?.fd else { continue }
      let length = s.range.upperBound - s.range.lowerBound
      let resident = cl_resident(fd, s.range, length: length)
      if resident >= length { continue }
      let pieces: [ImageFilesystem.Piece]
      do { pieces = try filesystem.pieces(of: s.entry, offset: s.range.lowerBound, size: Int(length)) } catch {
        counters.state.withLock { $0.failure = $0.failure ?? "reading \(index.path(of: s.entry)): \(error)" }
        continue  // the chunk failed to load (logged); a reader will get EIO for it, and try again
      }
      counters.used(pieces.map(\.digest))
      var buffer = [UInt8](repeating: 0, count: Int(length))
      var at = 0
      buffer.withUnsafeMutableBytes { b in
        for p in pieces {
          b.baseAddress!.advanced(by: at).copyMemory(
            from: p.chunk.bytes.baseAddress! + p.range.lowerBound, byteCount: p.range.count)
          at += p.range.count
        }
      }
      guard at == Int(length) else { continue }
      let ino = UInt64(index.inode(s.entry)) + 1
      let rc = buffer.withUnsafeBytes { session.storeInPageCache(inode: ino, offset: s.range.lowerBound, bytes: $0) }
      if rc == 0 {
        added += length - resident
        counters.pushed(length - resident)
      } else {
        logger.debug("NOTIFY_STORE for \(index.path(of: s.entry)) failed: \(Errno(-rc))")
      }
    }
    finish("done")
  }

  private func cl_resident(_ fd: Int32, _ range: Range<Int64>, length: Int64) -> Int64 {
    let descriptor = FileDescriptor(adopting: fd)
    let n = (try? PageCache.residentBytes(descriptor, offset: range.lowerBound, length: length)) ?? 0
    _ = descriptor.release()
    return n
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
        if s.chunks[p.digest] != nil { s.used.insert(p.digest) }
      }
    }
  }
}
