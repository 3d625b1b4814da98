import Glibc
import LinuxSystem
import OCISpec
import StoreCatalog

/// A container root served by lazyfs instead of a directory in the bundle: the annotation
/// `org.lazyfs.image` names the image (a name, a digest or a unique digest prefix) and `org.lazyfs.store`
/// the store (default as `StoreLocation.path` decides: `$LAZYFS_STORE`, else /var/lib/lazyfs).
///
/// `create` resolves the image to its digest (`ImageCatalog`, the code `lazyfs` resolves with), makes sure it is mounted read-only by `lazyfs mount` once
/// for all the containers on it (`ImageMounts`), and mounts an overlay on it at `<state>/rootfs`, with
/// the upper and work directories beside it in the container's state directory, so the container can
/// write without touching the shared image. That overlay is then the root, as root.path would otherwise
/// be; `root.readonly` still applies. The digest is recorded in `<state>/image` before anything is
/// mounted, so `delete` finds all of it without the bundle, even after a create that was killed.
///
/// The `lazyfs` executable is `$LAZYFS_BIN/lazyfs` when LAZYFS_BIN is set (the build directory, as the
/// Makefile and benchmarks set it), else the one beside crun-fast's own executable.
public struct LazyRoot: Sendable, Equatable {
  /// The image reference as the annotation gives it.
  public var image: String
  /// The store, absolute.
  public var store: String
  /// A published store to fetch what the local store lacks from (`org.lazyfs.remote`).
  public var remote: String?
  /// `org.lazyfs.record` and `org.lazyfs.prefetch` as given (checked by `mount`).
  public var record: String?
  public var prefetch: String?

  /// The root the annotations ask for, or nil when they name no image.
  public init?(annotations: [String: String]?) {
    guard let image = annotations?[Spec.lazyImageAnnotation] else { return nil }
    self.image = image
    store = StoreLocation.path(annotations?[Spec.lazyStoreAnnotation])
    remote = annotations?[Spec.lazyRemoteAnnotation] ?? MountRequest.defaultRemote
    record = annotations?[Spec.lazyRecordAnnotation]
    prefetch = annotations?[Spec.lazyPrefetchAnnotation]
  }

  /// The annotations' values that no mount could take, as the error `create` fails with.
  func checkAnnotations() throws {
    do { _ = try NodeConfig.current() } catch { throw RuntimeError("lazyfs root: \(error)") }
    if let record, record != "true", record != "false" {
      throw RuntimeError(
        "lazyfs root: annotation \(Spec.lazyRecordAnnotation) is \"\(record)\"; it takes true or false")
    }
    if let prefetch, prefetch.isEmpty {
      throw RuntimeError(
        "lazyfs root: annotation \(Spec.lazyPrefetchAnnotation) is empty; it takes auto, off or a profile file")
    }
  }

  /// Where the overlay is mounted, and becomes the container's root.
  public static func rootfs(in directory: String) -> String { directory + "/rootfs" }
  static func imageRecord(in directory: String) -> String { directory + "/image" }

  /// Mounts the overlay in the container's state `directory` on the shared mount of the image, and
  /// returns the root. On failure whatever was mounted for this container is undone.
  func mount(in directory: String, id: String, images: ImageMounts) throws -> String {
    let (upper, work, rootfs) = (directory + "/upper", directory + "/work", Self.rootfs(in: directory))
    // overlayfs splits its options at commas and its lowerdir at colons; a path holding one would be misread.
    for path in [directory, images.directory] where path.contains(",") || path.contains(":") {
      throw RuntimeError("lazyfs root: directory \"\(path)\" must not contain ',' or ':'")
    }
    try checkAnnotations()
    let digest = try resolve()
    try Files.writeAtomically(Self.imageRecord(in: directory), Array(digest.hex.utf8), durable: false)
    let lower = try images.acquire(self, digest: digest, for: id)
    do {
      for path in [upper, work, rootfs] {
        try Files.makeDirectory(path)
      }
      let options = "lowerdir=\(lower),upperdir=\(upper),workdir=\(work)"
      if Glibc.mount("overlay", rootfs, "overlay", 0, options) != 0 {
        throw SystemError("mount(overlay, \(options))", path: rootfs)
      }
    } catch {
      try? images.release(digest: digest, for: id)
      throw error
    }
    return rootfs
  }

  /// The image's digest, resolved here once (`ImageCatalog` reads the store's names and index files
  /// directly: a `lazyfs` process per create would cost more than the rest of the start).
  ///
  /// With a remote, an image the local store lacks (or a node with no store yet) is the remote's: a full
  /// digest is taken as it is, and a name is asked of the remote through `lazyfs resolve` (a name is
  /// mutable, and only lazyfs speaks HTTP): one process more, for that case only.
  func resolve() throws -> ImageDigest {
    func fromStore<T>(_ body: () throws -> T) throws -> T {
      do { return try body() } catch {
        throw RuntimeError("lazyfs root: mounting image \"\(image)\" from store \"\(store)\" failed", cause: error)
      }
    }
    guard let url = remote else { return try fromStore { try ImageCatalog(root: store).resolve(image) } }
    if let digest = try fromStore({ try ImageCatalog.resolveIfPresent(image, inStoreAt: store) }) ?? ImageDigest(image)
    {
      return digest
    }
    let failure = "lazyfs root: image \"\(image)\" from remote \(url) failed"
    let line = try Self.runLazyfs(["resolve", "--store", store, "--remote", url, "--", image], failure: failure)
    guard let digest = line.flatMap(ImageDigest.init) else { throw RuntimeError("\(failure): no digest printed") }
    return digest
  }

  /// Runs `lazyfs mount` of the image, by digest, at `mountPoint`: read-only, shared by every container
  /// on it, setuid programs and devices working (the mount point is under a root-only directory).
  func mountImage(digest: ImageDigest, at mountPoint: String) throws {
    var request = MountRequest(store: store, image: digest.description, mountpoint: mountPoint)
    request.allowOther = true
    request.setuid = true
    request.remote = remote
    request.record = record == "true"
    if let prefetch { request.prefetch = prefetch }
    _ = try Self.runLazyfs(
      ["mount"] + request.arguments, failure: "lazyfs root: mounting image \"\(image)\" from store \"\(store)\" failed")
  }

  /// Runs `lazyfs ARGUMENTS…` and returns the last line it printed; when it fails, throws `failure` with
  /// what lazyfs said (its one error line, without its own `lazyfs VERB: ` prefix) or how it ended.
  static func runLazyfs(_ arguments: [String], failure: String) throws -> String? {
    let ran = try HostCommand(path: try binary(), arguments: ["lazyfs"] + arguments).run()
    guard ran.succeeded else {
      var reason = ran.lastLine ?? ran.describe(timeout: nil)
      let prefix = "lazyfs \(arguments[0]): "
      if reason.hasPrefix(prefix) { reason.removeFirst(prefix.count) }
      throw RuntimeError("\(failure): \(reason)")
    }
    return ran.lastLine
  }

  /// Unmounts the container's overlay and releases its image mount (unmounting the image when it was
  /// the last user), whichever of them is there. Safe to call again, and on a directory that never had a
  /// lazy root.
  static func unmount(in directory: String, id: String, images: ImageMounts) throws {
    let rootfs = Self.rootfs(in: directory)
    let mounted = MountInfo.mounts(under: directory)
    // The container's own mount namespace, which pinned the overlay, is gone with its last process, but
    // a process that entered it (a slow exec) may hold on a moment: then the overlay is detached.
    if mounted.contains(rootfs), umount2(rootfs, 0) != 0, umount2(rootfs, Int32(MNT_DETACH)) != 0 {
      throw SystemError("umount2", path: rootfs)
    }
    if let bytes = try? Files.read(imageRecord(in: directory)),
      let digest = ImageDigest(String(decoding: bytes, as: UTF8.self))
    {
      try images.release(digest: digest, for: id)
    }
    if let left = MountInfo.mounts(under: directory).first {
      throw RuntimeError("lazyfs root: \(left) is still mounted; not removing \(directory)")
    }
  }

  /// `lazyfs umount`, which ends the daemon too; lazily when the mount is busy.
  static func unmountImage(_ mountPoint: String) throws {
    let binary = try binary()
    let plain = try HostCommand(path: binary, arguments: ["lazyfs", "umount", mountPoint]).run()
    if !plain.succeeded {
      let lazy = try HostCommand(path: binary, arguments: ["lazyfs", "umount", "--lazy", mountPoint]).run()
      guard lazy.succeeded else {
        throw RuntimeError(
          "lazyfs root: lazyfs umount \(mountPoint) failed: \(plain.lastLine ?? plain.describe(timeout: nil))")
      }
    }
  }

  /// `$LAZYFS_BIN/lazyfs`, else `lazyfs` beside this executable.
  static func binary() throws -> String {
    let directory: String
    if let env = getenv("LAZYFS_BIN"), env.pointee != 0 {
      directory = String(cString: env)
    } else {
      guard let resolved = realpath("/proc/self/exe", nil) else {
        throw SystemError("realpath", path: "/proc/self/exe")
      }
      directory = Files.dirname(of: String(cString: resolved))
      free(resolved)
    }
    let path = directory + "/lazyfs"
    guard access(path, X_OK) == 0 else {
      throw RuntimeError("lazyfs root: no lazyfs executable at \(path) (set LAZYFS_BIN to the directory holding it)")
    }
    return path
  }
}
