import CContainerInit
import CLinux
import Glibc
import LinuxSystem

/// A program the runtime runs in its own namespaces and waits for: `lazyfs mount` and `umount`, and the
/// hooks that run on the host side (prestart, createRuntime, poststart, poststop).
///
/// It is started with posix_spawn, never a shell and never fork (this process has threads), with default
/// signal handling and nothing blocked (`run` blocks every signal before it starts a container). Its
/// stdin is a memfd holding `input`, so a large input never blocks on a full pipe; stdout and stderr go
/// to one pipe, kept for the error message. The wait is for the process, through a pidfd, not for EOF on
/// the pipe: a daemon it leaves behind may hold the pipe open for ever.
struct HostCommand {
  var path: String
  /// argv, argv[0] included.
  var arguments: [String]
  /// nil: this process's environment.
  var environment: [String]?
  var input: [UInt8] = []
  /// Seconds after which the process is killed; nil waits for ever.
  var timeout: Int?
  /// Run inside this process's namespaces (all of them that differ from ours, pid included) rather than
  /// ours: a createContainer hook, in the namespaces of the container's init.
  var namespacesOf: Int32?

  /// How the program ended and what it wrote.
  struct Outcome {
    /// waitpid's status; meaningless when `timedOut`.
    var status: Int32
    var timedOut: Bool
    var output: String

    var succeeded: Bool { !timedOut && status == 0 }

    /// "exit status 3", "killed by signal 9", "timed out after 2 s".
    func describe(timeout: Int?) -> String {
      if timedOut { return "timed out after \(timeout ?? 0) s" }
      let signal = status & 0x7f
      return signal == 0 ? "exit status \((status >> 8) & 0xff)" : "killed by signal \(signal)"
    }

    /// The last non-empty line of the output, for a one-line error.
    var lastLine: String? {
      output.split(separator: "\n").last { !$0.allSatisfy(\.isWhitespace) }.map(String.init)
    }
  }

  func run() throws -> Outcome {
    let stdin = try syscall("memfd_create") { cfi_memfd("stdin") }
    defer { close(stdin) }
    if !input.isEmpty {
      _ = try input.withUnsafeBytes { bytes in
        try syscall("write", path: "memfd") { write(stdin, bytes.baseAddress, bytes.count) }
      }
      lseek(stdin, 0, SEEK_SET)
    }
    var fds: [Int32] = [-1, -1]
    _ = try syscall("pipe") { pipe(&fds) }
    for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
    defer { close(fds[0]) }

    if let target = namespacesOf {
      let pid: Int32
      do {
        pid = try spawnInside(target, stdio: [stdin, fds[1], fds[1]])
      } catch {
        close(fds[1])
        throw error
      }
      close(fds[1])
      return try wait(pid: pid, output: fds[0])
    }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_adddup2(&actions, stdin, 0)
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
    posix_spawn_file_actions_adddup2(&actions, fds[1], 2)
    SpawnSetup.closeFrom(&actions, 3)
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    SpawnSetup.resetSignals(&attributes)

    let arena = CArena()
    // posix_spawn wants `char *const[]`; the arena's strings are never written through.
    func cArray(_ strings: [String]) -> UnsafePointer<UnsafeMutablePointer<CChar>?>? {
      arena.strings(strings).map { UnsafeRawPointer($0).assumingMemoryBound(to: UnsafeMutablePointer<CChar>?.self) }
    }
    let envp = environment.map(cArray) ?? UnsafePointer(environ)
    guard let argv = cArray(arguments), let envp else { throw SystemError("malloc", errno: Errno(ENOMEM)) }
    var pid: pid_t = 0
    let rc = withExtendedLifetime(arena) { posix_spawn(&pid, path, &actions, &attributes, argv, envp) }
    close(fds[1])
    guard rc == 0 else { throw SystemError("posix_spawn", path: path, errno: Errno(rc)) }
    return try wait(pid: pid, output: fds[0])
  }

  /// Starts the program in `target`'s namespaces through CContainerInit, which enters them between clone
  /// and execve (setns needs a single-threaded process), and returns once it has exec'd.
  private func spawnInside(_ target: Int32, stdio: [Int32]) throws -> Int32 {
    var plan = InitPlan()
    (plan.joins, plan.pidJoin) = Namespaces.joins(of: target)
    plan.args = arguments
    plan.executable = path
    plan.env = environment ?? Environment.current
    plan.execNow = true
    let process = try InitProcess.spawn(plan, gate: .message, placement: nil, stdio: stdio)
    do {
      try process.proceed()
      try process.waitExec()
    } catch {
      Glibc.kill(process.pid, SIGKILL)
      var status: Int32 = 0
      while waitpid(process.pid, &status, 0) < 0 && errno == EINTR {}
      throw error
    }
    return process.pid
  }

  /// Collects output until the process exits (or the timeout kills it), then reaps it.
  private func wait(pid: pid_t, output fd: Int32) throws -> Outcome {
    let pidfd = cl_pidfd_open(pid)
    defer { if pidfd >= 0 { close(pidfd) } }
    _ = fcntl(fd, F_SETFL, O_NONBLOCK)
    var output: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    func drain() {
      while true {
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        guard n > 0 else { return }
        if output.count < 65536 { output += buffer[0..<n] }
      }
    }
    var timedOut = false
    var deadline = timespec()
    clock_gettime(CLOCK_MONOTONIC, &deadline)
    deadline.tv_sec += timeout ?? 0
    var pipeOpen = true
    while pidfd >= 0 {
      var now = timespec()
      clock_gettime(CLOCK_MONOTONIC, &now)
      let left = (deadline.tv_sec - now.tv_sec) * 1000 + (deadline.tv_nsec - now.tv_nsec) / 1_000_000
      if timeout != nil && left <= 0 {
        timedOut = true
        Glibc.kill(pid, SIGKILL)
        break
      }
      var polled = [
        pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0),
        pollfd(fd: pipeOpen ? fd : -1, events: Int16(POLLIN), revents: 0),
      ]
      let ready = poll(&polled, 2, timeout == nil ? -1 : Int32(clamping: max(left, 1)))
      if ready < 0 && errno != EINTR { throw SystemError("poll", path: path) }
      if polled[1].revents & Int16(POLLIN) != 0 { drain() }
      if polled[1].revents & Int16(POLLHUP | POLLERR) != 0 {
        drain()
        pipeOpen = false
      }
      if polled[0].revents != 0 { break }
    }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    drain()
    return Outcome(status: status, timedOut: timedOut, output: String(decoding: output, as: UTF8.self))
  }
}
