import CFuse
import Glibc
import LinuxSystem

/// Unmounting a lazyfs mount and waiting for its daemon to be gone.
public enum Unmounter {
  /// Unmounts the lazyfs mount at `path`. Without `lazy`, a busy mount (open files, a process's working
  /// directory) is refused with EBUSY; with it, the mount is detached now and the daemon ends when the last
  /// user lets go. Unless lazy, returns once the daemon and its fusermount3 watcher have exited, so that a
  /// new mount on the same path cannot be taken down by the old watcher's late auto-unmount.
  public static func unmount(_ path: String, lazy: Bool, timeout: Double = 10) throws {
    guard let resolved = realpath(path, nil) else { throw SystemError("realpath", path: path) }
    let mountpoint = String(cString: resolved)
    free(resolved)
    guard try MountTable.lazyfsMount(at: mountpoint) != nil else {
      throw MountError("\(mountpoint) is not a lazyfs mount")
    }
    // The daemon's pids, to wait on below; a dead daemon's mount has none to give (the read fails at once).
    let stats = try? MountStatistics.read(mountpoint: mountpoint)
    let daemon = lazy ? nil : stats.map { ProcessExit.Watch([$0.pid] + ($0.unmountHelperPid.map { [$0] } ?? [])) }
    // A prefetching daemon opens each file it warms through its own mount for a moment (see `Prefetcher`),
    // which makes the mount busy for that moment: EBUSY is tried again for a little while.
    var busyRetries = 20
    while umount2(mountpoint, lazy ? Int32(MNT_DETACH) : 0) != 0 {
      let e = Errno.current
      if e.rawValue == EBUSY && busyRetries > 0 {
        busyRetries -= 1
        usleep(10_000)
        continue
      }
      if e.rawValue == EBUSY {
        throw MountError(
          "umount(\"\(mountpoint)\"): \(e); files are open there (--lazy detaches it now and unmounts when they close)")
      }
      guard e.rawValue == EPERM else { throw SystemError("umount2", path: mountpoint, errno: e) }
      // Not root: fusermount3 may unmount what the user mounted.
      try fusermount(["-u"] + (lazy ? ["-z"] : []) + [mountpoint])
      break
    }
    guard let daemon else { return }
    let left = daemon.wait(seconds: timeout)
    if !left.isEmpty {
      throw MountError(
        "unmounted \(mountpoint), but process \(left.map(String.init).joined(separator: ", ")) is still running")
    }
  }

  private static func fusermount(_ arguments: [String]) throws {
    var configuration = ChildProcess.Configuration(path: "fusermount3", arguments: ["fusermount3"] + arguments)
    configuration.searchPath = true
    guard try ChildProcess(configuration).wait().succeeded else {
      throw MountError("fusermount3 \(arguments.joined(separator: " ")) failed")
    }
  }
}
