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
    let pipe = try FileDescriptor.pipe()
    // Above the descriptors the child's stdio is set up on, whatever the caller had open.
    let writeEnd = FileDescriptor(adopting: try syscall("fcntl") { fcntl(pipe.write.raw, F_DUPFD_CLOEXEC, 10) })
    var configuration = ChildProcess.Configuration(path: "/proc/self/exe", arguments: ["lazyfs"] + arguments)
    configuration.stdout = logFile.map { .file($0, append: true) } ?? .null
    configuration.stderr = configuration.stdout
    configuration.passing = [(writeEnd.raw, readyDescriptor)]
    configuration.newSession = true
    configuration.environment =
      Environment.current.filter { !$0.hasPrefix(readyVariable + "=") } + ["\(readyVariable)=\(readyDescriptor)"]
    let daemon = try ChildProcess(configuration)
    // The daemon holds the only write ends now, so its death reads as EOF.
    _ = consume writeEnd
    let readEnd = pipe.read
    _ = consume pipe.write
    try waitForReport(readEnd.raw, daemon: daemon, timeout: timeout, logFile: logFile)
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
    let pipe = try FileDescriptor.pipe()
    var log: FileDescriptor? = nil
    if let logFile {
      let fd = try syscall("open", path: logFile) { open(logFile, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640) }
      log = FileDescriptor(adopting: fd)
    }
    let pid = try syscall("fork") { Glibc.fork() }
    if pid == 0 {
      _ = setsid()
      _ = chdir("/")
      let null = open("/dev/null", O_RDWR)
      dup2(null, 0)
      let out = log?.raw ?? null
      dup2(out, 1)
      dup2(out, 2)
      dup2(pipe.write.raw, readyDescriptor)
      closefrom(readyDescriptor + 1)
      _ = fcntl(readyDescriptor, F_SETFD, FD_CLOEXEC)
      var none = sigset_t()
      sigemptyset(&none)
      sigprocmask(SIG_SETMASK, &none, nil)
      exit(serve(Readiness(fd: readyDescriptor)))
    }
    let daemon = ChildProcess(adopting: pid)
    _ = consume log
    let readEnd = pipe.read
    _ = consume pipe.write
    try waitForReport(readEnd.raw, daemon: daemon, timeout: timeout, logFile: logFile)
    return true
  }

  /// Threads in this process, from /proc/self/status.
  static func threadCount() -> Int {
    guard let bytes = try? Files.read("/proc/self/status") else { return 0 }
    let line = String(decoding: bytes, as: UTF8.self).split(separator: "\n").first { $0.hasPrefix("Threads:") }
    return line.flatMap { Int($0.dropFirst(8).trimmingPrefix(while: \.isWhitespace)) } ?? 0
  }

  /// Reads the daemon's one-line report. On "ready" the daemon is left running (`detach`); otherwise it is
  /// stopped or reaped, and its message, or how it died, is thrown.
  private static func waitForReport(_ fd: Int32, daemon: ChildProcess, timeout: Double, logFile: String?) throws {
    var report: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    let deadline = ContinuousClock.now + .milliseconds(Int(timeout * 1000))
    while !report.contains(0x0a) {
      let left = deadline - ContinuousClock.now
      guard left > .zero else {
        daemon.signal(SIGTERM)
        daemon.detach()
        throw MountError(
          "the mount daemon (pid \(daemon.pid)) did not report ready within \(Int(timeout)) s; stopped it")
      }
      var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
      let ms = Int32(min(left.components.seconds * 1000 + 1, 1000))
      let ready = poll(&p, 1, ms)
      if ready < 0 && !Errno.current.isTransient { throw SystemError("poll", path: "the mount daemon's pipe") }
      if ready <= 0 { continue }
      let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
      if n < 0 && Errno.current.isTransient { continue }
      if n <= 0 { break }
      report += buffer[0..<n]
    }
    let line = String(decoding: report.prefix { $0 != 0x0a }, as: UTF8.self)
    if line == "ready" { return daemon.detach() }
    if line.hasPrefix("error ") {
      daemon.detach()  // it exits on its own having said why; not worth waiting for
      throw MountError(String(line.dropFirst(6)))
    }
    let how: String
    if let exit = try? daemon.wait() {
      how = exit.signal == 0 ? "exited with status \(exit.code)" : "was killed by signal \(exit.signal)"
    } else {
      how = "vanished"
    }
    let hint = logFile.map { "; see \($0)" } ?? "; run with --foreground or --log-file to see why"
    throw MountError("the mount daemon \(how) before the mount was ready\(hint)")
  }
}

/// The daemon's end of the readiness pipe, when it was started by `Daemon.start`.
public final class Readiness: Sendable {
  /// Until the one report is sent.
  private let pipe: Mutex<FileDescriptor?>

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

  init(fd: Int32) { pipe = Mutex(FileDescriptor(adopting: fd)) }

  public func ready() { send("ready") }

  public func failed(_ message: String) {
    send("error " + message.replacing("\n", with: " "))
  }

  /// Sends one report and closes the pipe; later ones are dropped (the parent reads one line).
  private func send(_ line: String) {
    guard let fd = pipe.withLock({ $0.take() }) else { return }
    try? fd.write(Array((line + "\n").utf8))
  }
}
