import CFuse
import ChunkStore
import Codecs
import Glibc
import ImageIndex
import LinuxSystem
import Logging
import RemoteStore

/// What to mount where.
public struct MountRequest: Sendable {
  public var store: String
  public var image: String
  public var mountpoint: String
  public var allowOther: Bool
  /// Setuid programs and device nodes work even with `allowOther` (root only): for a mount point that
  /// other users cannot reach anyway, such as a container runtime's image mounts under a root-only
  /// directory.
  public var setuid = false
  public var cacheCapacity: Int
  /// The mount's readahead (root only); 0 keeps the kernel's default of 128 KiB.
  public var readaheadKilobytes: Int
  /// A published store (`lazyfs publish`) to fetch what the local store lacks from, and where to keep
  /// what was fetched, up to how many bytes.
  public var remote: String?
  public var remoteCache: String = MountRequest.defaultRemoteCache
  public var remoteCacheMaxBytes: Int64 = 10 << 30
  /// Serve over io_uring where the kernel offers it (root, local store only; see `FuseSession`).
  public var ioUring = true

  public static let defaultRemoteCache = "/var/cache/lazyfs/remote"

  public init(
    store: String, image: String, mountpoint: String, allowOther: Bool, cacheCapacity: Int = 64 << 20,
    readaheadKilobytes: Int = 1024
  ) {
    self.store = store
    self.image = image
    self.mountpoint = mountpoint
    self.allowOther = allowOther
    self.cacheCapacity = cacheCapacity
    self.readaheadKilobytes = readaheadKilobytes
  }
}

/// Checking a mount request and serving it.
public enum Mounter {
  /// Everything that can be found wrong before a daemon is started, so that the common mistakes get a
  /// clear message from the command itself: no usable /dev/fuse, a mount point that is missing, not a
  /// directory or already a lazyfs mount (refused: stacking one on another hides the first's daemon from
  /// `lazyfs umount`), an image unknown to the local store when there is no remote. Returns the image's
  /// digest where the local store knows it (else the reference as given, for the remote to resolve) and
  /// the absolute mount point.
  public static func check(_ request: MountRequest) throws -> (reference: String, mountpoint: String) {
    let fd = open("/dev/fuse", O_RDWR | O_CLOEXEC)
    guard fd >= 0 else {
      throw MountError(
        "\(SystemError("open", path: "/dev/fuse")) (is the fuse module loaded, or the device given to this container?)")
    }
    close(fd)
    var st = stat()
    guard stat(request.mountpoint, &st) == 0 else {
      let e = Errno.current
      throw MountError("mount point \"\(request.mountpoint)\": \(e)")
    }
    guard st.st_mode & S_IFMT == S_IFDIR else {
      throw MountError("mount point \"\(request.mountpoint)\" is not a directory")
    }
    guard let resolved = realpath(request.mountpoint, nil) else {
      throw SystemError("realpath", path: request.mountpoint)
    }
    let mountpoint = String(cString: resolved)
    free(resolved)
    if let existing = try MountTable.lazyfsMount(at: mountpoint) {
      throw MountError("\(mountpoint) is already a lazyfs mount (\(existing)); unmount it first")
    }
    if request.remote != nil {
      let local = try? ImageCatalog(root: request.store).resolve(request.image)
      return (local?.description ?? request.image, mountpoint)
    }
    return (try ImageCatalog(root: request.store).resolve(request.image).description, mountpoint)
  }

  /// Mounts and serves in this process until unmounted or signalled. `ready` is called once the mount
  /// point answers as the image.
  public static func serve(_ request: MountRequest, logger: Logger, ready: @escaping @Sendable () -> Void) throws {
    let (reference, mountpoint) = try check(request)
    let (index, digest, source) = try openImage(request, reference: reference, logger: logger)
    let filesystem = ImageFilesystem(
      index: index, digest: digest, source: source, mountpoint: mountpoint,
      cacheCapacity: request.cacheCapacity, logger: logger)
    let session = try FuseSession(
      filesystem: filesystem, allowOther: request.allowOther, setuid: request.setuid,
      readaheadKilobytes: request.readaheadKilobytes, ioUring: request.ioUring && request.remote == nil)
    try session.mount()
    (source as? OpeningChunkSource)?.start()
    logger.info("serving \(digest) at \(mountpoint): \(index.count) entries, \(index.chunkCount) chunks")
    try session.run(ready: ready)
  }
}

extension Mounter {
  /// The image's index and where its chunks come from. The local store's packs are pinned (opened) as it
  /// opens, so that a `gc` while the image is mounted cannot take chunks from under it.
  static func openImage(_ request: MountRequest, reference: String, logger: Logger) throws -> (
    ImageIndex, Digest, any ChunkSource
  ) {
    guard let url = request.remote else {
      let catalog = try ImageCatalog(root: request.store)
      let digest = try catalog.resolve(reference)
      let index = try ImageIndex(path: catalog.indexPath(digest), expect: digest)
      return (index, digest, OpeningChunkSource(root: request.store))
    }
    // With a remote, the local store is optional: a node may have none yet.
    let store = Files.exists(request.store + "/layout") ? try ChunkStore(root: request.store) : nil
    try store?.pinPacks()
    let cache = try DiskCache(directory: request.remoteCache, maxBytes: request.remoteCacheMaxBytes)
    var name = reference
    if name.hasPrefix("sha256:") { name.removeFirst(7) }
    let remote = try RemoteImage(url: url, reference: name, cache: cache)
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
