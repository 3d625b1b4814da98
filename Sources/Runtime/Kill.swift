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
    guard let process = try ProcessHandle(pid: state.pid) else { return }
    guard ProcessStatus.of(pid: state.pid, startTime: state.startTime) == .alive else { return }
    try process.signal(signal)
  }

  func signalCgroup(_ state: ContainerState, _ signal: Int32) {
    guard let path = state.cgroupPath else { return }
    for pid in Cgroups.open(path: path, version: state.cgroupVersion).processes() { Glibc.kill(pid, signal) }
  }
}
