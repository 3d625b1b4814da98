import CContainerInit
import CLinux
import Cgroups
import Glibc
import LinuxSystem

extension Runtime {
  /// `kill`: sends `signal` to the container's init, or with `all` to every process in its cgroup.
  public func kill(id: String, signal: Int32, all: Bool) throws {
    let lock = try store.lock(id, exclusive: false)
    defer { lock.release() }
    let state = try store.load(id)
    guard status(of: state) != .stopped else { throw RuntimeError("container \"\(id)\" is not running") }
    try signalInit(state, signal)
    if all { signalCgroup(state, signal) }
  }

  /// Signals the init through a pidfd opened before its start time is checked, so a pid recycled since
  /// is never hit.
  func signalInit(_ state: ContainerState, _ signal: Int32) throws {
    let pidfd = cl_pidfd_open(state.pid)
    guard pidfd >= 0 else {
      if errno == ESRCH { return }
      throw SystemError("pidfd_open", path: "\(state.pid)")
    }
    defer { close(pidfd) }
    guard ProcessStatus.of(pid: state.pid, startTime: state.startTime) == .alive else { return }
    if cl_pidfd_send_signal(pidfd, signal) != 0 && errno != ESRCH {
      throw SystemError("pidfd_send_signal", path: "\(state.pid)")
    }
  }

  func signalCgroup(_ state: ContainerState, _ signal: Int32) {
    guard let path = state.cgroupPath else { return }
    for pid in Cgroups.open(path: path, version: state.cgroupVersion).processes() { Glibc.kill(pid, signal) }
  }
}
