import CLinux
import Glibc

/// Waiting for processes that are not this process's children to end: a FUSE daemon once its mount is
/// gone, and its unmount helper. waitpid cannot wait for them, and polling /proc on a timer adds up to a
/// whole period to every wait (10 ms on each unmount, when the daemon was gone in 1); a pidfd turns
/// readable the moment its process exits, whoever its parent is and however slowly it is reaped.
public enum ProcessExit {
  /// Waits up to `seconds` for every process in `pids` to exit; returns those still running. A zombie
  /// counts as exited. The pids must be current: one already gone and reused would be waited for.
  public static func wait(for pids: [Int32], seconds: Double) -> [Int32] {
    var descriptors: [pollfd] = []
    var watched: [Int32] = []
    var polled: [Int32] = []
    defer { for entry in descriptors { close(entry.fd) } }
    for pid in pids {
      let fd = cl_pidfd_open(pid)
      if fd >= 0 {
        descriptors.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0))
        watched.append(pid)
      } else if errno != ESRCH {
        polled.append(pid)  // no pidfds (Linux before 5.3): read /proc every 10 ms
      }
    }
    let deadline = monotonicSeconds() + seconds
    while true {
      for index in descriptors.indices.reversed() where descriptors[index].revents != 0 {
        close(descriptors[index].fd)
        descriptors.remove(at: index)
        watched.remove(at: index)
      }
      polled.removeAll { exited($0) }
      let left = deadline - monotonicSeconds()
      if (watched.isEmpty && polled.isEmpty) || left <= 0 { return watched + polled }
      let wait = polled.isEmpty ? left : min(left, 0.01)
      if poll(&descriptors, nfds_t(descriptors.count), Int32((wait * 1000).rounded(.up))) < 0 && errno != EINTR {
        return watched + polled
      }
    }
  }

  /// Whether `pid` is gone or a zombie, from the state letter in /proc/PID/stat.
  public static func exited(_ pid: Int32) -> Bool {
    guard let bytes = try? Files.read("/proc/\(pid)/stat"), let close = bytes.lastIndex(of: UInt8(ascii: ")")),
      bytes.count > close + 2
    else { return true }
    let state = bytes[close + 2]
    return state == UInt8(ascii: "Z") || state == UInt8(ascii: "X")
  }

  private static func monotonicSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
  }
}
