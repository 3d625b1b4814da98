import CLinux
import Glibc
import Synchronization

/// A program started by this process and reaped by it: the one way anything here starts and waits for
/// another program (the runtime's host commands and hooks, the lazyfs daemon, fusermount3, the tests'
/// runners).
///
/// It is started with posix_spawn, never fork (these processes have threads) and never a shell, with an
/// empty signal mask and default dispositions (a runtime blocks every signal while it forwards them; a test
/// runner blocks some), and only the descriptors it is given (`closeFrom`). It is held by a pidfd from its
/// start: a wait polls that pidfd (so it can also read the child's output and honour a deadline), a signal
/// goes through it (so it can never reach a later process that got the same pid), and the reap is one
/// `waitpid` on its own pid, EINTR retried here and nowhere else. One dropped without `wait` is killed and
/// reaped by `deinit`.
public final class ChildProcess: Sendable {
  public let pid: pid_t
  private let pidfd: Int32
  private let reaped = Atomic<Bool>(false)

  /// What the child's descriptor 0, 1 or 2 is.
  public enum Stdio: Sendable {
    /// This process's own.
    case inherit
    case null
    /// A file, opened for writing (created; appended to or truncated).
    case file(String, append: Bool)
    /// A descriptor of this process, duplicated onto it.
    case descriptor(Int32)
  }

  /// What to start.
  public struct Configuration: Sendable {
    public var path: String
    /// argv, argv[0] included.
    public var arguments: [String]
    /// nil: this process's environment.
    public var environment: [String]?
    /// Look `path` up in PATH when it has no '/' (posix_spawnp).
    public var searchPath = false
    /// Where the child starts; a relative `path` is resolved against this process's directory first.
    public var directory: String?
    public var stdin = Stdio.null
    public var stdout = Stdio.inherit
    public var stderr = Stdio.inherit
    /// Descriptors of this process given to the child as other numbers (above 2): (ours, the child's).
    public var passing: [(descriptor: Int32, as: Int32)] = []
    /// A session of its own: no terminal's SIGHUP or ^C reaches it (a daemon).
    public var newSession = false

    public init(path: String, arguments: [String]) {
      self.path = path
      self.arguments = arguments
    }
  }

  /// How it ended.
  public struct Exit: Sendable, CustomStringConvertible {
    /// waitpid's status.
    public var status: Int32
    /// The deadline passed and it was killed.
    public var timedOut = false
    /// What it wrote to the descriptor `wait` read, if any (up to the limit asked).
    public var output: [UInt8] = []

    public var signal: Int32 { status & 0x7f }
    /// The exit status, or 128 + N when signal N ended it (as a shell reports it).
    public var code: Int32 { signal == 0 ? (status >> 8) & 0xff : 128 + signal }
    public var succeeded: Bool { !timedOut && status == 0 }

    /// "exit status 3", "killed by signal 9", "timed out after 2 s".
    public func describe(timeout: Double?) -> String {
      if timedOut { return "timed out after \(timeout.map { "\(Int($0))" } ?? "?") s" }
      return signal == 0 ? "exit status \(code)" : "killed by signal \(signal)"
    }
    public var description: String { describe(timeout: nil) }

    /// The last non-empty line of the output, for a one-line error.
    public var lastLine: String? {
      String(decoding: output, as: UTF8.self).split(separator: "\n").last { !$0.allSatisfy(\.isWhitespace) }
        .map(String.init)
    }
  }

  /// Starts the program.
  public convenience init(_ configuration: Configuration) throws {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    for (fd, stdio) in [(Int32(0), configuration.stdin), (1, configuration.stdout), (2, configuration.stderr)] {
      switch stdio {
      case .inherit: break
      case .null: posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0)
      case .file(let path, let append):
        posix_spawn_file_actions_addopen(
          &actions, fd, path, O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC), 0o640)
      case .descriptor(let source): posix_spawn_file_actions_adddup2(&actions, source, fd)
      }
    }
    for (source, target) in configuration.passing { posix_spawn_file_actions_adddup2(&actions, source, target) }
    _ = cl_spawn_closefrom(&actions, (configuration.passing.map(\.as).max() ?? 2) + 1)
    var program = configuration.path
    if let directory = configuration.directory {
      _ = cl_spawn_chdir(&actions, directory)
      // posix_spawn finds a relative program from the child's directory; resolve it from ours instead.
      if !program.hasPrefix("/") && (program.contains("/") || !configuration.searchPath), let here = getcwd(nil, 0) {
        program = String(cString: here) + "/" + program
        free(here)
      }
    }
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var none = sigset_t()
    sigemptyset(&none)
    var all = sigset_t()
    sigfillset(&all)
    posix_spawnattr_setsigmask(&attributes, &none)
    posix_spawnattr_setsigdefault(&attributes, &all)
    posix_spawnattr_setflags(
      &attributes,
      Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF) | (configuration.newSession ? CL_POSIX_SPAWN_SETSID : 0))

    let argv = configuration.arguments.map { strdup($0) } + [nil]
    let envp = configuration.environment.map { $0.map { strdup($0) } + [nil] }
    defer { for p in argv + (envp ?? []) { free(p) } }
    var pid: pid_t = 0
    let rc = envp.withOptionalPointer { env in
      configuration.searchPath
        ? posix_spawnp(&pid, program, &actions, &attributes, argv, env ?? UnsafePointer(environ))
        : posix_spawn(&pid, program, &actions, &attributes, argv, env ?? UnsafePointer(environ))
    }
    guard rc == 0 else { throw SystemError("posix_spawn", path: configuration.path, errno: Errno(rc)) }
    self.init(adopting: pid)
  }

  /// Takes over waiting for `pid`, a child of this process started another way (a container's init,
  /// cloned by CContainerInit), not yet reaped.
  public init(adopting pid: pid_t) {
    self.pid = pid
    pidfd = cl_pidfd_open(pid)
  }

  deinit {
    if !reaped.load(ordering: .acquiring) {
      signal(SIGKILL)  // through the pidfd while it is still open
      _ = Self.reap(pid)
    }
    if pidfd >= 0 { close(pidfd) }
  }

  /// Not yet exited (asked without reaping it).
  public var isRunning: Bool {
    guard !reaped.load(ordering: .acquiring) else { return false }
    var p = pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)
    return pidfd >= 0 ? poll(&p, 1, 0) == 0 : kill(pid, 0) == 0
  }

  /// Leaves it running and gives up waiting for it: a daemon that outlives this process, whose new parent
  /// (init) reaps it.
  public func detach() { reaped.store(true, ordering: .releasing) }

  /// Sends `signal` unless it has been reaped; through the pidfd, so never to another process.
  public func signal(_ signal: Int32) {
    guard !reaped.load(ordering: .acquiring) else { return }
    if pidfd >= 0 { _ = cl_pidfd_send_signal(pidfd, signal) } else { _ = kill(pid, signal) }
  }

  /// Waits until it exits, reaps it and says how it ended. Past `timeout` seconds it is killed (SIGKILL)
  /// and the exit says so. Meanwhile `output`, when given, is read (non-blocking) and the first
  /// `outputLimit` bytes kept: the wait is for the process, not for EOF, since a daemon it leaves behind may
  /// hold the other end open for ever. A second wait throws ECHILD.
  public func wait(timeout: Double? = nil, output: Int32? = nil, outputLimit: Int = 65536) throws -> Exit {
    guard !reaped.load(ordering: .acquiring) else { throw SystemError("waitpid", path: "\(pid)", errno: Errno(ECHILD)) }
    var exit = Exit(status: 0)
    var buffer = [UInt8](repeating: 0, count: 4096)
    func drain() {
      guard let output else { return }
      while true {
        let n = buffer.withUnsafeMutableBytes { read(output, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        guard n > 0 else { return }
        if exit.output.count < outputLimit { exit.output += buffer[0..<min(n, outputLimit - exit.output.count)] }
      }
    }
    if let output { _ = fcntl(output, F_SETFL, fcntl(output, F_GETFL) | O_NONBLOCK) }
    let deadline = timeout.map { Self.monotonicSeconds() + max($0, 0) }
    var outputOpen = output != nil
    while pidfd >= 0 {
      var left = -1
      if let deadline {
        left = Int(((deadline - Self.monotonicSeconds()) * 1000).rounded(.up))
        if left <= 0 {
          exit.timedOut = true
          signal(SIGKILL)
          break
        }
      }
      var polled = [
        pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0),
        pollfd(fd: outputOpen ? output! : -1, events: Int16(POLLIN), revents: 0),
      ]
      let ready = poll(&polled, 2, Int32(clamping: left))
      if ready < 0 && errno != EINTR { throw SystemError("poll", path: "pidfd of \(pid)") }
      if polled[1].revents & Int16(POLLIN) != 0 { drain() }
      if polled[1].revents & Int16(POLLHUP | POLLERR | POLLNVAL) != 0 {
        drain()
        outputOpen = false
      }
      if polled[0].revents != 0 { break }
    }
    // Without a pidfd (Linux before 5.3) the reap itself is the wait.
    guard let status = Self.reap(pid) else {
      let error = SystemError("waitpid", path: "\(pid)")
      // ECHILD: someone else reaped it; the pid is no longer ours to signal.
      if error.errno == .ECHILD { reaped.store(true, ordering: .releasing) }
      throw error
    }
    reaped.store(true, ordering: .releasing)
    exit.status = status
    drain()
    return exit
  }

  /// waitpid for `pid`, EINTR retried; nil when it fails otherwise.
  private static func reap(_ pid: pid_t) -> Int32? {
    var status: Int32 = 0
    while true {
      if waitpid(pid, &status, 0) == pid { return status }
      if errno != EINTR { return nil }
    }
  }

  static func monotonicSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
  }
}

extension Optional where Wrapped == [UnsafeMutablePointer<CChar>?] {
  fileprivate func withOptionalPointer<R>(_ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>?) -> R) -> R {
    guard let self else { return body(nil) }
    return self.withUnsafeBufferPointer { body($0.baseAddress) }
  }
}

/// This process's environment: what a child started without an environment of its own gets (a hook
/// without `env`, as runc passes its own).
public enum Environment {
  public static var current: [String] {
    var out: [String] = []
    var at = environ
    while let entry = at.pointee {
      out.append(String(cString: entry))
      at += 1
    }
    return out
  }
}
