import CFuse
import Glibc
import LinuxSystem

/// Mounting as root without fusermount3. libfuse's `auto_unmount` runs fusermount3 (an exec, ~4 ms of
/// every mount) and then needs a remount to allow setuid programs and devices. Root can instead call
/// mount(2) on a /dev/fuse descriptor it opened, with the final flags at once, hand libfuse the
/// descriptor (`/dev/fd/N`), and fork its own watcher: a process that waits for the daemon to die (the
/// end of a pipe only the daemon holds) and then detaches the mount, as fusermount3 would, so a killed
/// daemon still leaves no mount whose every access fails with ENOTCONN.
enum DirectMount {
  /// Mounts a FUSE file system at `mountpoint` and returns the /dev/fuse descriptor serving it.
  static func mount(_ mountpoint: String, source: String, allowOther: Bool, setuid: Bool) throws -> Int32 {
    let device = try FileDescriptor.open("/dev/fuse", O_RDWR)
    var st = stat()
    guard stat(mountpoint, &st) == 0 else { throw SystemError("stat", path: mountpoint) }
    var data =
      "fd=\(device.raw),rootmode=\(String(st.st_mode & S_IFMT, radix: 8)),user_id=0,group_id=0,default_permissions"
    if allowOther { data += ",allow_other" }
    var flags = UInt(MS_RDONLY)
    if !setuid { flags |= UInt(MS_NOSUID | MS_NODEV) }
    guard Glibc.mount(source, mountpoint, "fuse.lazyfs", flags, data) == 0 else {
      throw SystemError("mount(fuse.lazyfs)", path: mountpoint)
    }
    return device.release()
  }

  /// Forks the watcher for the mount at `mountpoint` that is `mount` (its device and source, as in mountinfo);
  /// returns its pid. Call while the process is single-threaded.
  static func startWatcher(_ mountpoint: String, mount: MountIdentity) throws -> pid_t {
    let pipe = try FileDescriptor.pipe()
    let pid = try syscall("fork") { fork() }
    if pid == 0 { watch(readEnd: pipe.read.raw, mountpoint: mountpoint, mount: mount) }
    _ = consume pipe.read
    // The write end stays open, unseen, for the daemon's lifetime: the kernel closes it when it dies.
    _ = pipe.write.release()
    return pid
  }

  private static func watch(readEnd: Int32, mountpoint: String, mount: MountIdentity) -> Never {
    // Nothing of the daemon's may stay open here: not /dev/fuse (the connection would outlive the
    // daemon), not the pipe the `lazyfs mount` command waits on, not the pipe's write end.
    _ = dup2(readEnd, 3)
    let null = open("/dev/null", O_RDWR)
    for fd: Int32 in 0...2 { _ = dup2(null, fd) }
    closefrom(4)
    if let comm = try? FileDescriptor.open("/proc/self/comm", O_WRONLY) {
      try? comm.write(Array("lazyfs-unmount".utf8))
      comm.close()
    }
    for signal in [SIGINT, SIGTERM, SIGHUP, SIGPIPE] { Glibc.signal(signal, SIG_IGN) }
    var byte: UInt8 = 0
    _ = try? syscall("read") { read(3, &byte, 1) }
    // The daemon is gone. Detach the mount if it is still this one: an unmount that came first, or a
    // new mount on the same path (another daemon's source, though maybe the same device number), is left
    // alone.
    if MountTable.lazyfsMount(identifiedAt: mountpoint) == mount { umount2(mountpoint, Int32(MNT_DETACH)) }
    _exit(0)
  }
}

/// Which mount a lazyfs mount is: its device number and source. The device number alone is not enough
/// (nor is the mount ID): the kernel reuses both as soon as the old mount is gone, so a daemon that had
/// just been lazily unmounted took a new mount on the same path for its own and unmounted it. A root
/// mount's source names its daemon (`lazyfs:<digest prefix>@<pid>`).
struct MountIdentity: Equatable {
  var device: String
  var source: String
}

extension MountTable {
  /// The topmost lazyfs mount at `path`, from mountinfo, which unlike stat(2) sends the file system no
  /// request (its daemon may be dead or not serving yet).
  static func lazyfsMount(identifiedAt path: String) -> MountIdentity? {
    MountInfo.entries().last { $0.mountPoint == path && $0.type == "fuse.lazyfs" }.map {
      MountIdentity(device: $0.device, source: $0.source)
    }
  }
}
