import CContainerInit
import Glibc
import LinuxSystem

extension Runtime {
  /// `run`: create and start in one go. Detached, it returns once the container runs (its init is then
  /// reparented like a created one's). Otherwise this process stays the init's parent: it forwards every
  /// signal it gets to the init, reaps it, deletes the container and returns the exit status to exit with
  /// (128 + N when the init was killed by signal N).
  public func run(id: String, bundle: String, pidFile: String?, detach: Bool, consoleSocket: String? = nil) throws
    -> Int32
  {
    let prepared = try prepare(id: id, bundle: bundle)
    if detach {
      let (process, state, lock) = try launch(
        id: id, prepared, gate: .message, pidFile: pidFile, consoleSocket: consoleSocket)
      defer { lock.release() }
      do {
        try writeHookState(state)
        try process.start()
      } catch {
        try? destroy(state)
        throw error
      }
      runHooksWarning("poststart", state.hooks?.poststart, state: ociState(state))
      return 0
    }
    // Signals are blocked before the clone so none is lost; the init unblocks its own before execve.
    var forwarded = sigset_t()
    sigfillset(&forwarded)
    var previous = sigset_t()
    sigprocmask(SIG_BLOCK, &forwarded, &previous)
    defer { sigprocmask(SIG_SETMASK, &previous, nil) }
    let (process, state, lock) = try launch(
      id: id, prepared, gate: .message, pidFile: pidFile, consoleSocket: consoleSocket)
    lock.release()
    // Orphans of a container without its own pid namespace come to us rather than the slow host init.
    // Only now: a lazyfs daemon started by launch must not become our child (it outlives the wait below).
    _ = cfi_set_child_subreaper()
    var status: Int32 = 0
    do {
      try writeHookState(state)
      try process.start()
      Timeline.mark("exec")
      runHooksWarning("poststart", state.hooks?.poststart, state: ociState(state))
      status = forwardSignals(until: process.pid)
      Timeline.mark("exited")
    } catch {
      try? cleanUp(state)
      throw error
    }
    try cleanUp(state)
    Timeline.mark("deleted")
    return status
  }

  /// Waits for `pid`, passing on every signal but SIGCHLD, reaping other children (orphans) as they come.
  func forwardSignals(until pid: Int32) -> Int32 {
    var set = sigset_t()
    sigfillset(&set)
    while true {
      var info = siginfo_t()
      let signal = sigwaitinfo(&set, &info)
      if signal < 0 { continue }
      if signal != SIGCHLD {
        Glibc.kill(pid, signal)
        continue
      }
      while true {
        var status: Int32 = 0
        let reaped = waitpid(-1, &status, WNOHANG)
        if reaped <= 0 { break }
        if reaped == pid { return Self.exitCode(status) }
      }
    }
  }

  /// The shell's convention: the exit code, or 128 + the signal that killed the process.
  static func exitCode(_ status: Int32) -> Int32 {
    let signal = status & 0x7f
    return signal == 0 ? (status >> 8) & 0xff : 128 + signal
  }

  /// Deletes a container `run` created, unless someone deleted it meanwhile.
  private func cleanUp(_ state: ContainerState) throws {
    guard let lock = try? store.lock(state.id, exclusive: true) else { return }
    defer { lock.release() }
    guard let current = try? store.load(state.id), current.startTime == state.startTime else { return }
    try destroy(current)
  }
}
