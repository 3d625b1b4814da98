import Glibc
import LinuxSystem
import StoreCatalog

/// One lazyfs mount per image, shared by every container on that image, as a lazy-pull snapshotter
/// shares an image's lower layer: `<root>/@images/<digest>/mnt`, with an empty file in `users/` for each
/// container that stands on it. The first container mounts it, the last one's delete unmounts it.
///
/// Sharing is what lets the kernel's caches work across containers: a file one container has read is
/// in the page cache for the next (a mount of its own would start cold, with a daemon of its own), and
/// a container whose image is already mounted starts without a `lazyfs mount` (~20 ms) at all. Images are
/// keyed by digest, so a name moved to a new image gets a new mount, and the same image in two stores
/// (content-addressed, hence identical) gets one.
///
/// Every change happens under an flock on `<digest>/lock`. A user file whose container directory is gone
/// (a crash between the two) is stale and dropped by the next acquire or release of that image.
struct ImageMounts {
  /// `<root>/@images`; `@` cannot occur in a container id, so this never collides with one.
  let directory: String
  /// The runtime's state root, where each container's directory is `<root>/<id>`.
  let root: String

  func mountPoint(_ digest: ImageDigest) -> String { "\(directory)/\(digest.hex)/mnt" }

  /// Makes sure the image is mounted and records `id` as a user; returns the mount point.
  func acquire(_ image: LazyRoot, digest: ImageDigest, for id: String) throws -> String {
    let base = "\(directory)/\(digest.hex)"
    try Files.makeDirectories(base + "/users")
    // Only root may enter: the image mounts keep setuid programs and device nodes working for the
    // containers (`lazyfs mount --setuid`), which other users must not reach through here.
    guard chmod(directory, 0o700) == 0 else { throw SystemError("chmod", path: directory) }
    guard let lock = try FileLock.acquire(base + "/lock", exclusive: true) else { return "" }
    defer { lock.unlock() }
    let mnt = mountPoint(digest)
    try Files.makeDirectory(mnt)
    let user = "\(base)/users/\(id)"
    _ = try FileDescriptor.open(user, O_WRONLY | O_CREAT)
    if !MountInfo.mounts(under: base).contains(mnt) {
      do {
        try image.mountImage(digest: digest, at: mnt)
      } catch {
        unlink(user)
        throw error
      }
    }
    return mnt
  }

  /// Drops `id` as a user of the image, and unmounts the image when no live container uses it any more.
  func release(digest: ImageDigest, for id: String) throws {
    let base = "\(directory)/\(digest.hex)"
    guard Files.exists(base + "/lock"), let lock = try FileLock.acquire(base + "/lock", exclusive: true) else {
      return
    }
    defer { lock.unlock() }
    unlink("\(base)/users/\(id)")
    let users = ((try? Files.list(base + "/users")) ?? []).filter { user in
      if Files.exists("\(root)/\(user)") { return true }
      unlink("\(base)/users/\(user)")
      return false
    }
    guard users.isEmpty else { return }
    let mnt = mountPoint(digest)
    if MountInfo.mounts(under: base).contains(mnt) { try LazyRoot.unmountImage(mnt) }
  }
}

extension StateStore {
  /// The shared image mounts of the containers in this root.
  var images: ImageMounts { ImageMounts(directory: "\(root)/@images", root: root) }
}
