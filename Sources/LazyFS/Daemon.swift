import CFuse
import Glibc
import LinuxSystem
import Synchronization

/// Starting the mount daemon, and the daemon's side of saying it is ready.
///
/// `lazyfs mount` forks its daemon while it is still single-threaded (`fork`). A multithreaded Swift
/// process must not fork (only async-signal-safe work may follow, and the Swift runtime is not that), so
/// where other threads exist it daemonises by running itself again (`start`): `/proc/self/exe` with
/// `--foreground`, spawned in a new session with stdio on /dev/null (or a log file), and a pipe on fd 3
/// named by `LAZYFS_READY_FD`. The daemon writes `ready\n` once the mount answers, or `error <why>\n`; the
/// parent prints the error, or returns, only then. EOF first means the daemon died: its exit status says how.
public enum Daemon {
  public static let readyVariable = "LAZYFS_READY_FD"
  static let readyDescriptor: Int32 = 3

  /// Spawns `/proc/self/exe arguments…` as the daemon and waits until it reports (at most `timeout`
  /// seconds). Throws with the daemon's own message when it fails.
  public static func start(arguments: [String], logFile: String?, timeout: Double = 60) throws {
    var fds: [Int32] = [0, 0]
    _ = try syscall("pipe") { pipe(&fds) }
    for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
    let readEnd = fds[0]
    defer { close(readEnd) }
    // Above the descriptors the file actions below write to, whatever the caller had open.
    let writeEnd = try syscall("fcntl") { fcntl(fds[1], F_DUPFD_CLOEXEC, 10) }
    close(fds[1])

    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, logFile ?? "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0o640)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    posix_spawn_file_actions_adddup2(&actions, writeEnd, readyDescriptor)
    SpawnSetup.closeFrom(&actions, readyDescriptor + 1)
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    // A session of its own (no terminal's SIGHUP or ^C reaches it), default signal handling, nothing blocked.
    SpawnSetup.resetSignals(&attributes, flags: LF_POSIX_SPAWN_SETSID)

    let argv = (["lazyfs"] + arguments).map { strdup($0) } + [nil]
    var environment: [UnsafeMutablePointer<CChar>?] = []
    var at = environ
    while let entry = at.pointee {
      if !String(cString: entry).hasPrefix(readyVariable + "=") { environment.append(strdup(entry)) }
      at += 1
    }
    environment.append(strdup("\(readyVariable)=\(readyDescriptor)"))
    environment.append(nil)
    defer { for p in argv + environment { free(p) } }

    var pid: pid_t = 0
    let rc = posix_spawn(&pid, "/proc/self/exe", &actions, &attributes, argv, environment)
    close(writeEnd)  // the daemon holds the only write end now, so its death reads as EOF
    guard rc == 0 else { throw SystemError("posix_spawn", path: "/proc/self/exe", errno: Errno(rc)) }
    try waitForReport(readEnd, daemon: pid, timeout: timeout, logFile: logFile)
  }

  /// Forks the daemon, when this process is still single-threaded (then the child is a full copy and
  /// may go on running Swift code; the parent has started nothing that a fork would break). The child gets
  /// a session of its own, / as its directory, stdio on /dev/null or `logFile`, no other descriptor but the
  /// readiness pipe; it runs `serve` and exits with what it returns. The parent returns true once the child
  /// reports ready (or throws its error); false, having done nothing, when the process has other threads.
  ///
  /// This is one process start fewer than `start`: the daemon needs no exec, no dynamic linking, no
  /// argument parsing, and finds the store already in the page cache.
  public static func fork(logFile: String?, timeout: Double = 60, serve: (Readiness) -> Int32) throws -> Bool {
    guard threadCount() == 1 else { return false }
    var fds: [Int32] = [0, 0]
    _ = try syscall("pipe") { pipe(&fds) }
    for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
    let (readEnd, writeEnd) = (fds[0], fds[1])
    let log: Int32 = logFile.map { open($0, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640) } ?? -1
    if let logFile, log < 0 {
      close(readEnd)
      close(writeEnd)
      throw SystemError("open", path: logFile)
    }
    let pid = Glibc.fork()
    if pid < 0 {
      close(readEnd)
      close(writeEnd)
      if log >= 0 { close(log) }
      throw SystemError("fork", path: "")
    }
    if pid == 0 {
      _ = setsid()
      _ = chdir("/")
      let null = open("/dev/null", O_RDWR)
      dup2(null, 0)
      dup2(log >= 0 ? log : null, 1)
      dup2(log >= 0 ? log : null, 2)
      dup2(writeEnd, readyDescriptor)
      closefrom(readyDescriptor + 1)
      _ = fcntl(readyDescriptor, F_SETFD, FD_CLOEXEC)
      var none = sigset_t()
      sigemptyset(&none)
      sigprocmask(SIG_SETMASK, &none, nil)
      exit(serve(Readiness(fd: readyDescriptor)))
    }
    close(writeEnd)
    if log >= 0 { close(log) }
    defer { close(readEnd) }
    try waitForReport(readEnd, daemon: pid, timeout: timeout, logFile: logFile)
    return true
  }

  /// Threads in this process, from /proc/self/status.
  static func threadCount() -> Int {
    guard let bytes = try? Files.read("/proc/self/status") else { return 0 }
    let line = String(decoding: bytes, as: UTF8.self).split(separator: "\n").first { $0.hasPrefix("Threads:") }
    return line.flatMap { Int($0.dropFirst(8).trimmingPrefix(while: \.isWhitespace)) } ?? 0
  }

  private static func waitForReport(_ fd: Int32, daemon pid: pid_t, timeout: Double, logFile: String?) throws {
    var report: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    let deadline = ContinuousClock.now + .milliseconds(Int(timeout * 1000))
    while !report.contains(0x0a) {
      let left = deadline - ContinuousClock.now
      guard left > .zero else {
        kill(pid, SIGTERM)
        throw MountError("the mount daemon (pid \(pid)) did not report ready within \(Int(timeout)) s; stopped it")
      }
      var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
      let ms = Int32(min(left.components.seconds * 1000 + 1, 1000))
      if poll(&p, 1, ms) <= 0 { continue }
      let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
      if n < 0 && errno == EINTR { continue }
      if n <= 0 { break }
      report += buffer[0..<n]
    }
    let line = String(decoding: report.prefix { $0 != 0x0a }, as: UTF8.self)
    if line == "ready" { return }
    if line.hasPrefix("error ") { throw MountError(String(line.dropFirst(6))) }
    var status: Int32 = 0
    let how =
      waitpid(pid, &status, 0) == pid
      ? (status & 0x7f == 0 ? "exited with status \((status >> 8) & 0xff)" : "was killed by signal \(status & 0x7f)")
      : "vanished"
    let hint = logFile.map { "; see \($0)" } ?? "; run with --foreground or --log-file to see why"
    throw MountError("the mount daemon \(how) before the mount was ready\(hint)")
  }
}

/// The daemon's end of the readiness pipe, when it was started by `Daemon.start`.
public final class Readiness: Sendable {
  private let fd: Int32
  private let sent = Atomic<Bool>(false)

  /// The pipe named in the environment, taken out of it so that nothing the daemon starts (fusermount3)
  /// inherits it: a second holder of the write end would hide the daemon's death from the parent.
  public static func fromEnvironment() -> Readiness? {
    guard let value = getenv(Daemon.readyVariable), let fd = Int32(String(cString: value)), fd >= 0 else {
      return nil
    }
    unsetenv(Daemon.readyVariable)
    guard fcntl(fd, F_SETFD, FD_CLOEXEC) == 0 else { return nil }
    return Readiness(fd: fd)
  }

  init(fd: Int32) { self.fd = fd }

  public func ready() { send("ready") }

  public func failed(_ message: String) {
    send("error " + message.replacing("\n", with: " "))
  }

  /// Sends one report; later ones are dropped (the parent reads one line).
  private func send(_ line: String) {
    guard !sent.exchange(true, ordering: .relaxed) else { return }
    let bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    close(fd)
  }
}
