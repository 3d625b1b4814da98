import CLinux
import Glibc

/// Waiting for processes that are not this process's children to end: a FUSE daemon once its mount is
/// gone, and its unmount helper. waitpid cannot wait for them, and polling /proc on a timer adds up to a
/// whole period to every wait (10 ms on each unmount, when the daemon was gone in 1); a pidfd turns
/// readable the moment its process exits, whoever its parent is and however slowly it is reaped.
public enum ProcessExit {
  /// Waits up to `seconds` for every process in `pids` to exit; returns those still running.
  public static func wait(for pids: [Int32], seconds: Double) -> [Int32] {
    Watch(pids).wait(seconds: seconds)
  }

  /// Processes to wait for, each held by a pidfd from the moment the watch is made: open it before doing
  /// what makes them exit, and a pid reused in between cannot be mistaken for theirs. A zombie counts as
  /// exited; a process that is already gone is not watched.
  public final class Watch {
    private var descriptors: [pollfd] = []
    private var watched: [Int32] = []
    private var polled: [Int32] = []

    public init(_ pids: [Int32]) {
      for pid in pids {
        let fd = cl_pidfd_open(pid)
        if fd >= 0 {
          descriptors.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0))
          watched.append(pid)
        } else if errno != ESRCH {
          polled.append(pid)  // no pidfds (Linux before 5.3): read /proc every 10 ms
        }
      }
    }

    deinit { for entry in descriptors { close(entry.fd) } }

    /// Waits up to `seconds` (at most a day) for every watched process to exit; returns those still running.
    public func wait(seconds: Double) -> [Int32] {
      let deadline = monotonicSeconds() + min(max(seconds, 0), 86_400)
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
  }

  /// Whether `pid` is gone or a zombie, from its state in /proc.
  public static func exited(_ pid: Int32) -> Bool { ProcessStat.read(pid)?.exited ?? true }

  private static func monotonicSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
  }
}

/// A process held by a pidfd: a signal through it can never reach a later process that got the same pid.
/// Open it before checking that the pid is still the process meant (its start time), then signal.
public struct ProcessHandle: ~Copyable {
  private let pidfd: FileDescriptor
  public let pid: pid_t

  /// nil when there is no such process any more.
  public init?(pid: pid_t) throws {
    let fd = cl_pidfd_open(pid)
    guard fd >= 0 else {
      if errno == ESRCH { return nil }
      throw SystemError("pidfd_open", path: "\(pid)")
    }
    pidfd = FileDescriptor(adopting: fd)
    self.pid = pid
  }

  /// Sends `signal`; a process that has exited meanwhile is not an error.
  public func signal(_ signal: Int32) throws {
    if cl_pidfd_send_signal(pidfd.raw, signal) != 0 && errno != ESRCH {
      throw SystemError("pidfd_send_signal", path: "\(pid)")
    }
  }
}
