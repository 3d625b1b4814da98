import Glibc
import LinuxSystem

extension Runtime {
  /// `start`: opens the exec fifo for reading, which releases the init blocked opening it for writing;
  /// the byte it writes says it got there (after its startContainer hooks, whose failure it writes
  /// instead). The fifo is then removed, which is what makes the status read "running"; then the
  /// poststart hooks run.
  public func start(id: String) throws {
    let lock = try store.lock(id, exclusive: true)
    defer { lock.release() }
    let state = try store.load(id)
    switch status(of: state) {
    case .created: break
    case .stopped: throw RuntimeError("cannot start a container that has stopped")
    case .running, .creating: throw RuntimeError("cannot start an already running container")
    }
    try writeHookState(state)
    let path = store.fifo(id)
    let fd = try FileDescriptor.open(path, O_RDONLY | O_NONBLOCK)
    let reply = try readReply(fd.raw, path: path, state: state)
    unlink(path)
    if reply != [UInt8(ascii: "0")] { throw Self.startFailure(reply) }
    runHooksWarning("poststart", state.hooks?.poststart, state: ociState(state))
  }

  /// What the init writes into the fifo: "0", or a failed startContainer hook, until it closes the fifo.
  private func readReply(_ fd: Int32, path: String, state: ContainerState) throws -> [UInt8] {
    var reply: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
      var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
      let ready = poll(&poller, 1, 100)
      if ready > 0 {
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n > 0 {
          reply += buffer[0..<n]
          if reply.first == UInt8(ascii: "0") { return reply }
          continue
        }
        if n < 0 && Errno.current.isTransient { continue }
        // EOF: the init closed the fifo, after a failure report or by dying.
        if reply.isEmpty { throw RuntimeError("container init exited before start") }
        return reply
      }
      if ready < 0 && !Errno.current.isTransient { throw SystemError("poll", path: path) }
      if ProcessStatus.of(pid: state.pid, startTime: state.startTime) != .alive {
        if reply.isEmpty { throw RuntimeError("container init exited before start") }
        return reply
      }
    }
  }

  /// "E<status> <path>" or "T0 <path>" (timed out) from the init, as an error naming the hook.
  static func startFailure(_ reply: [UInt8]) -> Error {
    let text = String(decoding: reply.dropFirst(), as: UTF8.self)
    guard let space = text.firstIndex(of: " "), let status = Int32(text[..<space]) else {
      return RuntimeError(
        "container init: unexpected start reply \(jsonQuoted(String(decoding: reply, as: UTF8.self)))")
    }
    let how = reply.first == UInt8(ascii: "T") ? "timed out" : Hooks.describe(status: status)
    return HookError(description: "startContainer hook \"\(text[text.index(after: space)...])\" failed: \(how)")
  }
}
