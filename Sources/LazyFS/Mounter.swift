import CFuse
import ChunkStore
import Codecs
import Glibc
import ImageIndex
import LinuxSystem
import Logging
import Profiles
import RemoteStore
import StoreCatalog

/// A mount request checked, with absolute paths, and its image resolved where the local store has it.
/// What the daemon serves: a daemon forked by `lazyfs mount` gets this value; one started afresh gets
/// `request` as argv (the digest, not the reference) and prepares it again, which then resolves nothing.
public struct PreparedMount: Sendable {
  public var request: MountRequest
  /// The image, when the local store has it; nil when only the remote can say (by name or digest).
  public var digest: ImageDigest?
}

/// Checking a mount request and serving it.
public enum Mounter {
  /// Everything that can be found wrong before a daemon is started, so that the common mistakes get a
  /// clear message from the command itself: no usable /dev/fuse, a mount point that is missing, not a
  /// directory or already a lazyfs mount (refused: stacking one on another hides the first's daemon from
  /// `lazyfs umount`), an image unknown to the local store when there is no remote. Resolves the image
  /// here, once: the result names it by digest where the local store knows it (else by the reference as
  /// given, for the remote to resolve), with every path absolute (a daemon runs in /).
  public static func prepare(_ request: MountRequest) throws -> PreparedMount {
    try request.validate()
    do {
      _ = FileDescriptor(adopting: try syscall("open", path: "/dev/fuse") { open("/dev/fuse", O_RDWR | O_CLOEXEC) })
    } catch {
      throw MountError(
        "no usable /dev/fuse (is the fuse module loaded, or the device given to this container?)", cause: error)
    }
    var st = stat()
    guard stat(request.mountpoint, &st) == 0 else {
      throw MountError("mount point \"\(request.mountpoint)\"", cause: SystemError("stat", path: request.mountpoint))
    }
    guard st.st_mode & S_IFMT == S_IFDIR else {
      throw MountError("mount point \"\(request.mountpoint)\" is not a directory")
    }
    guard let resolved = realpath(request.mountpoint, nil) else {
      throw SystemError("realpath", path: request.mountpoint)
    }
    var prepared = PreparedMount(request: request, digest: nil)
    prepared.request.mountpoint = String(cString: resolved)
    free(resolved)
    prepared.request.store = StoreLocation(root: request.store).root
    prepared.request.remoteCache = StoreLocation.absolute(request.remoteCache)
    prepared.request.logFile = request.logFile.map(StoreLocation.absolute)
    if let existing = try MountTable.lazyfsMount(at: prepared.request.mountpoint) {
      throw MountError("\(prepared.request.mountpoint) is already a lazyfs mount (\(existing)); unmount it first")
    }
    // With a remote, the local store is optional: a node may have none yet, or not this image.
    prepared.digest =
      request.remote != nil
      ? try ImageCatalog.resolveIfPresent(request.image, inStoreAt: prepared.request.store)
      : try ImageCatalog(root: prepared.request.store).resolve(request.image)
    if let digest = prepared.digest { prepared.request.image = digest.description }
    return prepared
  }

  /// Mounts and serves in this process until unmounted or signalled. `ready` is called once the mount
  /// point answers as the image.
  public static func serve(_ mount: PreparedMount, logger: Logger, ready: @escaping @Sendable () -> Void) throws {
    let (request, mountpoint) = (mount.request, mount.request.mountpoint)
    let (index, digest, source) = try openImage(mount, logger: logger)
    let recorder =
      request.record
      ? Recorder(
        image: digest, extentCount: index.extentCount, path: profileDestination(request, image: digest),
        idle: .milliseconds(Int(request.recordIdleSeconds * 1000)), logger: logger) : nil
    let found = findProfile(request, image: digest, index: index, source: source, logger: logger)
    let counters = request.prefetch == "off" ? nil : PrefetchCounters()
    if case .failure(let why) = found { counters?.state.withLock { $0.failure = "profile refused: \(why)" } }
    let filesystem = ImageFilesystem(
      index: index, digest: digest, source: source, mountpoint: mountpoint,
      cacheCapacity: request.cacheCapacity, recorder: recorder, prefetch: counters, logger: logger)
    let session = try FuseSession(
      filesystem: filesystem, allowOther: request.allowOther, setuid: request.setuid,
      readaheadKilobytes: request.effectiveReadaheadKb, ioUring: request.ioUring,
      ringDepth: source.remoteStatistics != nil ? 8 : 2)
    try session.mount()
    (source as? OpeningChunkSource)?.start()
    logger.info("serving \(digest) at \(mountpoint): \(index.count) entries, \(index.chunkCount) chunks")
    var prefetcher: Prefetcher?
    if case .success(let profile?) = found {
      prefetcher = Prefetcher(
        profile: profile, filesystem: filesystem, session: session, budget: request.prefetchBudgetBytes,
        logger: logger)
    }
    defer {
      prefetcher?.stop()
      if let recorder {
        do { try recorder.save(reason: "unmounted") } catch { logger.error("saving the recorded profile: \(error)") }
      }
    }
    try session.run { [prefetcher, recorder] in
      prefetcher?.start()
      recorder?.closeWhenIdle()
      ready()
    }
  }
}

extension Mounter {
  /// Where a recorded run goes: the store's profile of the image, or, on a node with no store (a remote
  /// mount), the node's own profiles beside the remote cache.
  static func profileDestination(_ request: MountRequest, image: Digest) -> String {
    let location = StoreLocation(root: request.store)
    return Files.exists(location.layoutFile)
      ? ProfileStore.path(store: location.root, image: image)
      : ProfileStore.path(store: request.remoteCache, image: image)
  }

  /// The profile to replay: `--prefetch FILE`, or with `auto` the store's, this node's (recorded beside
  /// the remote cache), else the remote's. A profile that cannot be used is a failure naming why; the
  /// mount goes on without prefetch. Success with nil: there is none, or prefetch is off.
  static func findProfile(
    _ request: MountRequest, image: Digest, index: ImageIndex, source: any ChunkSource, logger: Logger
  ) -> Result<Profile?, any Error> {
    func use(_ load: () throws -> Profile?) -> Result<Profile?, any Error> {
      do {
        guard let profile = try load() else { return .success(nil) }
        try profile.check(against: index)
        logger.info("prefetching \(profile.records.count) extents of profile \(profile.digest) (\(profile.runs) runs)")
        return .success(profile)
      } catch {
        logger.warning("not prefetching: \(error)")
        return .failure(error)
      }
    }
    switch request.prefetch {
    case "off": return .success(nil)
    case "auto":
      for root in [request.store, request.remoteCache] {
        let path = ProfileStore.path(store: StoreLocation.absolute(root), image: image)
        if Files.exists(path) { return use { try ProfileStore.load(path, image: image) } }
      }
      guard let remote = (source as? RemoteChunkSource)?.remote else { return .success(nil) }
      return use {
        guard let bytes = try remote.profile() else { return nil }
        do { return try Profile(decoding: bytes, for: image) } catch let error as ProfileError {
          throw ProfileFileError(path: "\(remote.baseURL)/profiles/\(image.hex)", reason: .profile(error))
        }
      }
    default:
      return use {
        try ProfileStore.load(request.prefetch, image: image)
          ?? { throw ProfileFileError(path: request.prefetch, reason: .unreadable("no such file")) }()
      }
    }
  }

  /// The image's index and where its chunks come from. The local store's packs are pinned (opened) as it
  /// opens, so that a `gc` while the image is mounted cannot take chunks from under it.
  static func openImage(_ mount: PreparedMount, logger: Logger) throws -> (ImageIndex, Digest, any ChunkSource) {
    let request = mount.request
    // An image the local store has is served from it, remote or not: the remote is for what it lacks.
    guard let url = request.remote, mount.digest == nil else {
      guard let digest = mount.digest else { throw CatalogError.unknownImage(request.image) }
      let location = StoreLocation(root: request.store)
      let index = try ImageIndex(path: location.indexPath(digest), expect: Digest(digest))
      return (index, Digest(digest), OpeningChunkSource(root: request.store))
    }
    // With a remote, the local store is optional: a node may have none yet.
    let store = Files.exists(StoreLocation(root: request.store).layoutFile) ? try ChunkStore(root: request.store) : nil
    try store?.pinPacks()
    let cache = try DiskCache(directory: request.remoteCache, maxBytes: request.remoteCacheMaxBytes)
    let client = HTTPClient()
    client.deadlineSeconds = request.remoteTimeoutSeconds
    let remote = try RemoteImage(url: url, reference: mount.digest?.hex ?? request.image, client: client, cache: cache)
    let index: ImageIndex
    if let store, Files.exists(store.indexPath(remote.digest)) {
      index = try ImageIndex(path: store.indexPath(remote.digest), expect: remote.digest)
    } else {
      index = try ImageIndex(bytes: remote.indexBytes)
    }
    logger.info("chunks not in the local store come from \(remote.baseURL), cached in \(request.remoteCache)")
    return (index, remote.digest, RemoteChunkSource(local: store, remote: remote))
  }
}

/// The mounts this process sees, as lazyfs and its tests look at them (from `MountInfo`).
public enum MountTable {
  public struct Mount: Sendable, CustomStringConvertible {
    public var source: String
    public var target: String
    public var type: String
    public var description: String { "\(source) on \(target) type \(type)" }
  }

  /// `FUSE_SUPER_MAGIC`, the `f_type` statfs gives for every FUSE file system.
  static let fuseSuperMagic = 0x6573_5546

  public static func mounts() throws -> [Mount] {
    MountInfo.parse(try Files.read("/proc/self/mountinfo")).map {
      Mount(source: $0.source, target: $0.mountPoint, type: $0.type)
    }
  }

  /// The topmost lazyfs mount at `path` (absolute, resolved), if any. A path whose file system is not
  /// FUSE has none, and saying so with one statfs spares reading the mount table (~0.2 ms, twice per mount).
  public static func lazyfsMount(at path: String) throws -> Mount? {
    var fs = statfs()
    if statfs(path, &fs) == 0 && fs.f_type != fuseSuperMagic { return nil }
    return try mounts().last { $0.target == path && $0.type == "fuse.lazyfs" }
  }
}
