import Glibc
import LinuxSystem

extension Runtime {
  /// `start`: opens the exec fifo for reading, which releases the init blocked opening it for writing;
  /// the byte it writes says it got there. The fifo is then removed, which is what makes the status
  /// read "running".
  public func start(id: String) throws {
    let lock = try store.lock(id, exclusive: true)
    defer { lock.release() }
    let state = try store.load(id)
    switch status(of: state) {
    case .created: break
    case .stopped: throw RuntimeError("cannot start a container that has stopped")
    case .running, .creating: throw RuntimeError("cannot start an already running container")
    }
    let path = store.fifo(id)
    let fd = try syscall("open", path: path) { open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC) }
    defer { close(fd) }
    var byte: UInt8 = 0
    while true {
      var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
      let ready = poll(&poller, 1, 100)
      if ready > 0 {
        let n = read(fd, &byte, 1)
        if n == 1 { break }
        if n < 0 && (errno == EAGAIN || errno == EINTR) { continue }
        throw RuntimeError("container init exited before start")
      }
      if ready < 0 && errno != EINTR { throw SystemError("poll", path: path) }
      if ProcessStatus.of(pid: state.pid, startTime: state.startTime) != .alive {
        throw RuntimeError("container init exited before start")
      }
    }
    unlink(path)
  }
}
