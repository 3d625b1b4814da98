import CFuse
import Codecs
import Glibc
import ImageIndex
import Logging
import Synchronization

/// An image served read-only over FUSE. The index is immutable and memory-mapped, so every operation is a
/// pure function of the request: there is no inode table to keep (kernel inode = entry number + 1), no
/// lookup counts (forget has nothing to free) and no per-open state (file handles are unused).
public final class ImageFilesystem: Sendable {
  public let index: ImageIndex
  public let digest: Digest
  public let statistics: Statistics
  public let mountpoint: String
  let cache: ChunkCache
  let source: any ChunkSource
  let logger: Logger
  /// With `--record`: notes first reads.
  let recorder: Recorder?
  /// With a profile to replay: how the prefetch and the reads fare.
  let prefetch: PrefetchCounters?
  /// Totals over the whole index, each computed on first use rather than before the mount answers (they
  /// visit every entry or every extent, ~1 ms of mounting the `python` image): the file bytes for statfs,
  /// which the readiness check asks, and the distinct chunk bytes, for `stats` only.
  private let contentTotal = Mutex<Int64?>(nil)
  private let chunkTotal = Mutex<Int64?>(nil)
  var contentBytes: Int64 { Self.once(contentTotal) { index.contentBytes } }
  var chunkBytes: Int64 { Self.once(chunkTotal) { index.chunkBytes } }
  /// The fusermount3 process `auto_unmount` leaves watching the daemon; found after mounting.
  let unmountHelper = Mutex<Int32?>(nil)
  /// Reads that must wait for a remote are answered from a worker thread when they come over io_uring.
  let deferRemoteReads: Bool
  /// The io_uring transport, when the session has one.
  let transport = Mutex<RingTransport?>(nil)
  /// Whether the kernel takes ENOSYS from open/opendir to mean "never ask again" (set at INIT).
  let openless = Atomic<Bool>(false)
  let opendirless = Atomic<Bool>(false)

  /// How long the kernel may trust what it was told: the image never changes under a mount.
  static let timeout: Double = 86400 * 365

  public init(
    index: ImageIndex, digest: Digest, source: any ChunkSource, mountpoint: String,
    cacheCapacity: Int = 64 << 20, recorder: Recorder? = nil, prefetch: PrefetchCounters? = nil, logger: Logger
  ) {
    self.recorder = recorder
    self.prefetch = prefetch
    deferRemoteReads = source.remoteStatistics != nil
    self.index = index
    self.digest = digest
    self.mountpoint = mountpoint
    self.logger = logger
    statistics = Statistics()
    self.source = source
    cache = ChunkCache(source: source, capacity: cacheCapacity, statistics: statistics, logger: logger)
  }

  private static func once(_ value: borrowing Mutex<Int64?>, _ compute: () -> Int64) -> Int64 {
    value.withLock { v in
      if let v { return v }
      let computed = compute()
      v = computed
      return computed
    }
  }

  /// A snapshot of the statistics, as `lazyfs stats` prints them.
  public func snapshot() -> MountStatistics {
    let s = statistics
    let loadedBytes = s.distinctBytes.load(ordering: .relaxed)
    let (overRing, ringRequests) = transport.withLock { t in (t?.accepted ?? false, t?.requests) }
    return MountStatistics(
      image: digest.description, mountpoint: mountpoint, pid: getpid(),
      unmountHelperPid: unmountHelper.withLock { $0 }, uptimeSeconds: s.uptimeSeconds,
      bytesRead: s.bytesRead.load(ordering: .relaxed), readRequests: s.readRequests.load(ordering: .relaxed),
      chunkLoads: s.chunkLoads.load(ordering: .relaxed), cacheHits: s.cacheHits.load(ordering: .relaxed),
      sharedLoads: s.sharedLoads.load(ordering: .relaxed), loadErrors: s.loadErrors.load(ordering: .relaxed),
      cacheBytes: Int64(cache.bytes), cacheCapacityBytes: Int64(cache.capacity),
      loadLatencyMicroseconds: s.latency.summary(), chunksLoaded: s.distinctChunks.load(ordering: .relaxed),
      chunksTotal: Int64(index.chunkCount), bytesLoaded: loadedBytes, bytesTotal: chunkBytes,
      shareFetched: chunkBytes > 0 ? Double(loadedBytes) / Double(chunkBytes) : 0,
      remote: source.remoteStatistics, transport: overRing ? "io_uring" : "/dev/fuse",
      ringRequests: overRing ? ringRequests : nil, prefetch: prefetch?.snapshot, recording: recorder?.isOpen)
  }

  /// Capabilities asked of the kernel at INIT, each only where the kernel offers it.
  func negotiate(_ conn: UnsafeMutablePointer<fuse_conn_info>) {
    var want: Int32 = FUSE_CAP_ASYNC_READ  // readahead requests in parallel with the read that caused them
    want |= FUSE_CAP_READDIRPLUS | FUSE_CAP_READDIRPLUS_AUTO  // attributes with listings: `ls -l`, `find`
    want |= FUSE_CAP_CACHE_SYMLINKS  // readlink answered from the page cache after the first time
    want |= FUSE_CAP_PARALLEL_DIROPS  // lookups in one directory need not be serialised: nothing changes
    want |= FUSE_CAP_POSIX_ACL  // an image's ACL xattrs are enforced and shown, as on the exported tree
    conn.pointee.want |= UInt32(bitPattern: want) & conn.pointee.capable
    // Nothing changes, so there is nothing to invalidate: without this the kernel would check attributes
    // before reads and could drop the page cache.
    conn.pointee.want &= ~UInt32(bitPattern: FUSE_CAP_AUTO_INVAL_DATA)
    // Opens carry no state here (no file handles), so where the kernel can do without them it is told to
    // (open answered with ENOSYS, once): a hot `open`+`close` is then two requests fewer, and the kernel
    // keeps files' page cache and directories' listings as if every open had said keep_cache/cache_readdir.
    openless.store(conn.pointee.capable & UInt32(bitPattern: FUSE_CAP_NO_OPEN_SUPPORT) != 0, ordering: .relaxed)
    opendirless.store(
      conn.pointee.capable & UInt32(bitPattern: FUSE_CAP_NO_OPENDIR_SUPPORT) != 0, ordering: .relaxed)
    // Splice is not asked for: it helps when a reply's bytes are in a file descriptor, and ours are
    // decompressed memory, which one writev (`fuse_reply_iov`) hands over with a single copy.
    // Readahead can only be lowered from what the kernel offers; take all of it. Allow more readahead
    // requests in flight than the default 12, so that a slow (remote) source is kept busy.
    conn.pointee.max_background = 64
    conn.pointee.congestion_threshold = 48
    logger.debug(
      "kernel FUSE \(conn.pointee.proto_major).\(conn.pointee.proto_minor), max_readahead \(conn.pointee.max_readahead)"
    )
  }

  /// The table of C entry points. Each is a trampoline: it finds this object through the request's
  /// userdata (`fuse_session_new` was given an unretained pointer; the session owner keeps it alive) and
  /// hands the request to a Swift method along with the `Reply` that must answer it.
  static func operations() -> fuse_lowlevel_ops {
    var ops = fuse_lowlevel_ops()
    ops.`init` = { userdata, conn in
      guard let userdata, let conn else { return }
      Unmanaged<ImageFilesystem>.fromOpaque(userdata).takeUnretainedValue().negotiate(conn)
    }
    ops.lookup = { req, parent, name in
      guard let req else { return }
      from(req).lookup(Reply(req), parent: parent, name: name)
    }
    ops.forget = { req, _, _ in if let req { Reply(req).none() } }
    ops.getattr = { req, ino, _ in
      guard let req else { return }
      from(req).getattr(Reply(req), ino)
    }
    ops.readlink = { req, ino in
      guard let req else { return }
      from(req).readlink(Reply(req), ino)
    }
    ops.open = { req, ino, fi in
      guard let req else { return }
      from(req).open(Reply(req), ino, fi)
    }
    ops.read = { req, ino, size, offset, _ in
      guard let req else { return }
      from(req).read(Reply(req), ino, size: size, offset: Int64(offset))
    }
    ops.release = { req, _, _ in if let req { Reply(req).error(0) } }
    ops.opendir = { req, ino, fi in
      guard let req else { return }
      from(req).opendir(Reply(req), ino, fi)
    }
    ops.readdir = { req, ino, size, offset, _ in
      guard let req else { return }
      from(req).readdir(Reply(req), ino, size: size, offset: Int64(offset), plus: false)
    }
    ops.readdirplus = { req, ino, size, offset, _ in
      guard let req else { return }
      from(req).readdir(Reply(req), ino, size: size, offset: Int64(offset), plus: true)
    }
    ops.releasedir = { req, _, _ in if let req { Reply(req).error(0) } }
    ops.statfs = { req, _ in
      guard let req else { return }
      from(req).statfs(Reply(req))
    }
    ops.getxattr = { req, ino, name, size in
      guard let req else { return }
      from(req).getxattr(Reply(req), ino, name: name, size: size)
    }
    ops.listxattr = { req, ino, size in
      guard let req else { return }
      from(req).listxattr(Reply(req), ino, size: size)
    }
    return ops
  }

}

/// The filesystem a request is for. A free function: the C trampolines cannot capture anything, not even
/// a metatype.
private func from(_ req: fuse_req_t) -> ImageFilesystem {
  Unmanaged<ImageFilesystem>.fromOpaque(fuse_req_userdata(req)!).takeUnretainedValue()
}
