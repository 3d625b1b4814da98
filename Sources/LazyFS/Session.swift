import CFuse
import CFuseRing
import Dispatch
import Glibc
import LinuxSystem
import Logging
import Synchronization

/// A libfuse low-level session serving one `ImageFilesystem` at one mount point.
///
/// Mount options, and why: `ro` (the kernel refuses writes before they reach us), `default_permissions`
/// (the kernel checks modes and ACLs itself, so there is no `access` to implement), `fsname` and `subtype`
/// (so `/proc/mounts` says what is mounted: `lazyfs:<digest prefix> … fuse.lazyfs`, as root with
/// `@<daemon pid>`), and `auto_unmount`: libfuse mounts through fusermount3, which stays behind watching
/// the daemon and unmounts if it dies, so a crashed or killed daemon never leaves a mount whose every
/// access fails with ENOTCONN. As root, the mount is made directly and a watcher of our own does
/// fusermount3's part (`DirectMount`).
///
/// As root, requests come over io_uring where the kernel offers it (Linux 6.14+ with `fuse.enable_uring`):
/// one ring and one daemon thread per CPU, so a request is served on the CPU that made it instead of waking
/// a thread on another (see `CFuseRing`). A ring thread serves its CPU's requests one at a time, so a read
/// that must wait for a remote is handed to a worker (`lf_ring_defer_current`), and a remote mount's rings
/// have more entries (`ringDepth`) for requests to wait in meanwhile.
public final class FuseSession: @unchecked Sendable {
  public let filesystem: ImageFilesystem
  private let session: OpaquePointer
  private let allowOther: Bool
  private let setuid: Bool
  private let readaheadKilobytes: Int
  private var mounted = false
  /// Mounted by `DirectMount` (root) rather than libfuse and fusermount3.
  private var direct = false
  private var mountedAs: MountIdentity?
  /// The io_uring transport, where the kernel may offer it.
  private let ring: OpaquePointer?

  public init(
    filesystem: ImageFilesystem, allowOther: Bool, setuid: Bool = false, readaheadKilobytes: Int = 1024,
    ioUring: Bool = true, ringDepth: UInt32 = 2
  ) throws {
    self.filesystem = filesystem
    self.allowOther = allowOther
    self.setuid = setuid
    self.readaheadKilobytes = readaheadKilobytes
    var options = "ro,default_permissions,fsname=lazyfs:\(filesystem.digest.hex.prefix(12)),subtype=lazyfs,auto_unmount"
    if allowOther { options += ",allow_other" }
    var args = fuse_args(argc: 0, argv: nil, allocated: 0)
    defer { fuse_opt_free_args(&args) }
    for arg in ["lazyfs", "-o", options] { _ = fuse_opt_add_arg(&args, arg) }
    libfuseLog.install()
    var ops = ImageFilesystem.operations()
    // libfuse copies the table; the filesystem outlives the session because this object holds both.
    let userdata = Unmanaged.passUnretained(filesystem).toOpaque()
    guard let se = fuse_session_new(&args, &ops, MemoryLayout<fuse_lowlevel_ops>.size, userdata) else {
      throw MountError("fuse_session_new(\(options)): \(libfuseLog.last ?? "failed")")
    }
    session = se
    // Two entries a CPU from a local store: one thread serves them in turn, so more only hold memory (each
    // a 1 MiB payload, touched as far as requests fill it; up to ~3 MiB a CPU with the request buffer).
    // Measured with one and four: the same round trip (12 µs) and cold full read. A remote mount's
    // deferred reads each hold an entry until answered, so it asks for more.
    ring = ioUring && geteuid() == 0 ? lf_ring_create(se, ringDepth) : nil
  }

  deinit {
    if mounted && !direct { fuse_session_unmount(session) }
    filesystem.transport.withLock { $0 = nil }
    lf_ring_destroy(ring)
    fuse_session_destroy(session)
  }

  /// Mounts; from here on the kernel sends requests, which `run` serves. Call it before anything starts a
  /// thread: it forks the watcher (root) or fusermount3 (libfuse's auto_unmount), and a fork is only safe
  /// single-threaded.
  public func mount() throws {
    let mountpoint = filesystem.mountpoint
    if geteuid() == 0 {
      // The daemon's pid in the source tells its mount from the next one on this path (`MountIdentity`).
      let source = "lazyfs:\(filesystem.digest.hex.prefix(12))@\(getpid())"
      let device = FileDescriptor(
        adopting: try DirectMount.mount(
          mountpoint, source: source, allowOther: allowOther, setuid: !allowOther || setuid))
      let rc = lf_ring_install(session, device.raw, ring)
      guard rc == 0 else {
        umount2(mountpoint, Int32(MNT_DETACH))
        throw MountError("mounting on \(mountpoint): \(libfuseLog.last ?? "fuse_session_custom_io: \(Errno(-rc))")")
      }
      _ = device.release()  // the session owns it now
      if let ring { filesystem.transport.withLock { $0 = RingTransport(ring) } }
      (mounted, direct) = (true, true)
      guard let identity = MountTable.lazyfsMount(identifiedAt: mountpoint) else {
        umount2(mountpoint, Int32(MNT_DETACH))
        mounted = false
        throw MountError("mounted on \(mountpoint), but the mount is not in /proc/self/mountinfo")
      }
      mountedAs = identity
      if let minor = identity.device.split(separator: ":").last.flatMap({ UInt32($0) }) {
        lf_ring_set_connection(ring, minor)
      }
      let watcher = try DirectMount.startWatcher(mountpoint, mount: identity)
      filesystem.unmountHelper.withLock { $0 = watcher }
      return
    }
    guard fuse_session_mount(session, mountpoint) == 0 else {
      throw MountError("mounting on \(mountpoint): \(libfuseLog.last ?? "fuse_session_mount failed")")
    }
    mounted = true
    filesystem.unmountHelper.withLock { $0 = Processes.child(of: getpid(), named: "fusermount3") }
  }

  /// Serves requests on up to 64 threads (10 kept idle) until the file system is unmounted or SIGINT,
  /// SIGTERM or SIGHUP arrives; then unmounts. `ready` is called, once, from another thread, as soon as
  /// the mount point answers as this file system.
  public func run(ready: @escaping @Sendable () -> Void) throws {
    let logger = filesystem.logger
    guard fuse_set_signal_handlers(session) == 0 else { throw MountError("fuse_set_signal_handlers failed") }
    defer { fuse_remove_signal_handlers(session) }
    let mountpoint = filesystem.mountpoint
    let allowSetuid = geteuid() == 0 && !allowOther && !direct
    let readahead = readaheadKilobytes
    let filesystem = self.filesystem
    DispatchQueue.global().async {
      guard Self.waitUntilServing(mountpoint) else { return }
      // Read under the lock: the session clears it before it frees the ring.
      let (failure, accepted) = filesystem.transport.withLock { ($0?.failure, $0?.accepted) }
      if let failure {
        logger.warning("the kernel offered FUSE over io_uring, but \(failure) failed: serving over /dev/fuse")
      } else if accepted == true {
        logger.debug("requests come over io_uring, one ring per CPU")
      }
      if allowSetuid { Self.allowSetuidAndDevices(mountpoint, logger: logger) }
      if readahead > 0 { Self.raiseReadahead(mountpoint, kilobytes: readahead, logger: logger) }
      ready()
    }
    lf_ring_start(ring)
    let config = fuse_loop_cfg_create()
    defer { fuse_loop_cfg_destroy(config) }
    // One /dev/fuse descriptor shared by the workers: clone_fd buys nothing for requests this short.
    fuse_loop_cfg_set_clone_fd(config, 0)
    fuse_loop_cfg_set_idle_threads(config, 10)
    fuse_loop_cfg_set_max_threads(config, 64)
    let rc = fuse_session_loop_mt(session, config)
    if rc < 0 { logger.error("the FUSE session ended with \(Errno(-rc))") }
    if rc > 0 { logger.info("signal \(rc): unmounting \(mountpoint)") }
    if mounted {
      if direct {
        // Unmounted from outside already, unless a signal ended the loop; never someone else's new mount.
        if let current = MountTable.lazyfsMount(identifiedAt: mountpoint), current == mountedAs {
          if umount2(mountpoint, 0) != 0 { umount2(mountpoint, Int32(MNT_DETACH)) }
        }
      } else {
        fuse_session_unmount(session)
      }
      mounted = false
    }
    logger.info("unmounted \(mountpoint)")
  }

  /// Hands the kernel `bytes` as the content of file `inode` from `offset` (FUSE's NOTIFY_STORE): they go
  /// into its page cache, and reads of them never reach the daemon. The kernel marks a page valid only
  /// when the bytes cover all of it (or run to the end of the file), so `offset` should be page-aligned.
  /// 0, or a negative errno (ENOENT: the kernel does not know the inode; nothing is stored).
  func storeInPageCache(inode: UInt64, offset: Int64, bytes: UnsafeRawBufferPointer) -> Int32 {
    var vector = fuse_bufvec()
    vector.count = 1
    vector.buf.size = bytes.count
    vector.buf.mem = UnsafeMutableRawPointer(mutating: bytes.baseAddress)
    vector.buf.fd = -1
    return fuse_lowlevel_notify_store(session, inode, off_t(offset), &vector, fuse_buf_copy_flags(0))
  }

  /// fusermount3 always mounts nosuid,nodev (libfuse never passes it `suid` or `dev`). A container root
  /// file system needs its setuid programs and device nodes to work, and that is safe while no one but
  /// root can reach the mount; with allow_other any user could run the image's setuid binaries, so the
  /// flags stay. A bind remount changes only these per-mount flags, and needs no request served.
  static func allowSetuidAndDevices(_ mountpoint: String, logger: Logger) {
    if CFuse.mount(nil, mountpoint, nil, UInt(MS_REMOUNT | MS_BIND | MS_RDONLY), nil) != 0 {
      logger.warning("\(SystemError("mount", path: mountpoint)): setuid programs and devices stay disabled")
    }
  }

  /// The kernel offers FUSE only its default readahead (128 KiB) at INIT, and INIT can only lower it. The
  /// mount's backing device takes a larger value through sysfs (root only): sequential reads then arrive
  /// as 1 MiB requests, the most one request carries, instead of 256 KiB ones (a 50 MiB file reads
  /// 1.6 times faster from a local store, and a remote source is asked a quarter as often). The price is
  /// read-around on page faults: starting python with numpy fetches 32.6 MiB of the image instead of 26.0.
  static func raiseReadahead(_ mountpoint: String, kilobytes: Int, logger: Logger) {
    var st = stat()
    guard stat(mountpoint, &st) == 0 else { return }
    let dev = UInt64(st.st_dev)
    let path = "/sys/class/bdi/\(DeviceNumber.major(dev)):\(DeviceNumber.minor(dev))/read_ahead_kb"
    do {
      let fd = try FileDescriptor.open(path, O_WRONLY)
      try fd.write(Array("\(kilobytes)\n".utf8))
    } catch {
      logger.debug("readahead stays at the kernel's default: \(error)")
    }
  }

  /// Whether `mountpoint` answers as a FUSE file system: statfs sees FUSE's magic number. The first call
  /// waits for the session's INIT, so a true answer means requests are being served.
  static func waitUntilServing(_ mountpoint: String) -> Bool {
    for _ in 0..<3000 {
      var s = statfs()
      if statfs(mountpoint, &s) == 0 && s.f_type == fuseSuperMagic { return true }
      usleep(10_000)
    }
    return false
  }
}

/// The io_uring transport as `lazyfs stats` and the log see it. The pointer stays valid while the session
/// lives; the session clears `ImageFilesystem.transport` before it frees the ring.
final class RingTransport: @unchecked Sendable {
  let ring: OpaquePointer
  init(_ ring: OpaquePointer) { self.ring = ring }
  /// Whether the kernel was told yes at INIT.
  var accepted: Bool { lf_ring_accepted(ring) != 0 }
  var requests: Int64 { Int64(lf_ring_requests(ring)) }
  /// What failed when the kernel offered io_uring and the rings could not be set up.
  var failure: String? { lf_ring_failure(ring).map { String(cString: $0) } }
}

/// `statfs.f_type` of every FUSE mount.
let fuseSuperMagic = 0x6573_5546

/// libfuse reports some failures (a bad mount option, fusermount3's complaints) only as log lines; they
/// are kept so that the error thrown says what went wrong, and passed on to stderr as libfuse would.
let libfuseLog = LibfuseLog()

final class LibfuseLog: Sendable {
  private let lastLine = Mutex<String?>(nil)
  var last: String? { lastLine.withLock { $0 } }

  func install() {
    fuse_set_log_func { _, format, arguments in
      guard let format, let arguments else { return }
      var buffer = [UInt8](repeating: 0, count: 1024)
      let n = buffer.withUnsafeMutableBufferPointer { b in
        b.withMemoryRebound(to: CChar.self) { Int(vsnprintf($0.baseAddress, $0.count, format, arguments)) }
      }
      var line = String(decoding: buffer[0..<max(0, min(n, buffer.count - 1))], as: UTF8.self)
      while line.hasSuffix("\n") { line.removeLast() }
      libfuseLog.lastLine.withLock { $0 = line }
      let text = Array((line + "\n").utf8)
      _ = text.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    }
  }
}
