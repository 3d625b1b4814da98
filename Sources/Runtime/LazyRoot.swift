import Glibc
import LinuxSystem
import OCISpec

/// A container root served by lazyfs instead of a directory in the bundle: the annotation
/// `org.lazyfs.image` names the image (a name, a digest or a unique digest prefix) and `org.lazyfs.store`
/// the store (default `$LAZYFS_STORE`, else /var/lib/lazyfs).
///
/// `create` mounts the image read-only with `lazyfs mount` at `<state>/lower` (the daemon it leaves
/// serves the mount until `lazyfs umount`), and an overlay on it at `<state>/rootfs`, with the upper and
/// work directories beside them, so the container can write without touching the shared image. That
/// overlay is then the root, as root.path would otherwise be; `root.readonly` still applies. All of it
/// lives in the container's state directory, so `delete` finds it without the bundle.
///
/// The `lazyfs` executable is `$LAZYFS_BIN/lazyfs` when LAZYFS_BIN is set (the build directory, as the
/// Makefile and benchmarks set it), else the one beside crun-fast's own executable.
public struct LazyRoot: Sendable, Equatable {
  public var image: String
  public var store: String

  /// The root the annotations ask for, or nil when they name no image.
  public init?(annotations: [String: String]?) {
    guard let image = annotations?[Spec.lazyImageAnnotation] else { return nil }
    self.image = image
    if let store = annotations?[Spec.lazyStoreAnnotation] {
      self.store = store
    } else if let env = getenv("LAZYFS_STORE"), env.pointee != 0 {
      store = String(cString: env)
    } else {
      store = "/var/lib/lazyfs"
    }
  }

  /// Where the overlay is mounted, and becomes the container's root.
  public static func rootfs(in directory: String) -> String { directory + "/rootfs" }
  static func lower(in directory: String) -> String { directory + "/lower" }

  /// Mounts the image and the overlay in the container's state `directory` and returns the root. On
  /// failure whatever was mounted is unmounted again.
  public func mount(in directory: String) throws -> String {
    let lower = Self.lower(in: directory)
    let (upper, work, rootfs) = (directory + "/upper", directory + "/work", Self.rootfs(in: directory))
    // overlayfs splits its options at commas and its lowerdir at colons; a path holding one would be misread.
    if directory.contains(",") || directory.contains(":") {
      throw RuntimeError("lazyfs root: state directory \"\(directory)\" must not contain ',' or ':'")
    }
    for path in [lower, upper, work, rootfs] {
      guard mkdir(path, 0o755) == 0 || errno == EEXIST else { throw SystemError("mkdir", path: path) }
    }
    let binary = try Self.binary()
    let mounted = try HostCommand(
      path: binary,
      arguments: ["lazyfs", "mount", "--store", store, "--allow-other", "--", image, lower]
    ).run()
    guard mounted.succeeded else {
      var reason = mounted.lastLine ?? mounted.describe(timeout: nil)
      if reason.hasPrefix("lazyfs mount: ") { reason.removeFirst("lazyfs mount: ".count) }
      throw RuntimeError("lazyfs root: mounting image \"\(image)\" from store \"\(store)\" failed: \(reason)")
    }
    let options = "lowerdir=\(lower),upperdir=\(upper),workdir=\(work)"
    if Glibc.mount("overlay", rootfs, "overlay", 0, options) != 0 {
      let error = SystemError("mount(overlay, \(options))", path: rootfs)
      try? Self.unmount(in: directory)
      throw error
    }
    return rootfs
  }

  /// Unmounts the overlay and the image mounted in `directory`, whichever of them is there, ending the
  /// lazyfs daemon. Safe to call again, and on a directory that never had a lazy root.
  public static func unmount(in directory: String) throws {
    let (rootfs, lower) = (Self.rootfs(in: directory), Self.lower(in: directory))
    let mounted = MountInfo.mounts(under: directory)
    // The container's own mount namespace, which pinned the overlay, is gone with its last process, but
    // a process that entered it (a slow exec) may hold on a moment: then the overlay is detached.
    if mounted.contains(rootfs), umount2(rootfs, 0) != 0, umount2(rootfs, Int32(MNT_DETACH)) != 0 {
      throw SystemError("umount2", path: rootfs)
    }
    if mounted.contains(lower) {
      let binary = try binary()
      let plain = try HostCommand(path: binary, arguments: ["lazyfs", "umount", lower]).run()
      if !plain.succeeded {
        let lazy = try HostCommand(path: binary, arguments: ["lazyfs", "umount", "--lazy", lower]).run()
        guard lazy.succeeded else {
          throw RuntimeError(
            "lazyfs root: lazyfs umount \(lower) failed: \(plain.lastLine ?? plain.describe(timeout: nil))")
        }
      }
    }
    if let left = MountInfo.mounts(under: directory).first {
      throw RuntimeError("lazyfs root: \(left) is still mounted; not removing \(directory)")
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
