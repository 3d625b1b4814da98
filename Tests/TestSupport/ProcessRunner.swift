import Glibc
import LinuxSystem
import Synchronization
import Testing

/// What a program run to completion printed, and how it ended.
public struct RunResult: CustomStringConvertible, Sendable {
  /// The exit code, or 128 + N when signal N killed it.
  public var status: Int32
  public var stdout: String
  public var stderr: String
  /// It outlived its timeout and was killed.
  public var timedOut = false
  public init(status: Int32, stdout: String, stderr: String, timedOut: Bool = false) {
    (self.status, self.stdout, self.stderr, self.timedOut) = (status, stdout, stderr, timedOut)
  }

  public var lastLine: String { stdout.split(separator: "\n").last.map(String.init) ?? "" }
  public var description: String {
    "status \(status)\(timedOut ? " (killed: timed out)" : "")\nstdout: \(stdout)\nstderr: \(stderr)"
  }
}

/// Runs a program to completion, capturing its output.
@discardableResult
public func run(_ program: String, _ arguments: [String], cwd: String? = nil) throws -> RunResult {
  try spawnAndWait(program, arguments, cwd: cwd)
}

/// Runs `program` to completion (see `Spawned`); past `timeout` it is killed with SIGKILL and the result
/// says so. `onStart` gets the pid as soon as it runs.
public func spawnAndWait(
  _ program: String, _ arguments: [String], cwd: String? = nil, timeout: Double = 600,
  onStart: ((Int32) -> Void)? = nil
) throws -> RunResult {
  let process = try Spawned(program, arguments, cwd: cwd)
  onStart?(process.pid)
  return try process.wait(timeout: timeout)
}

/// A child process a test started, with stdin from /dev/null and stdout and stderr sent to files, never
/// pipes: a process that outlives it (a container, a FUSE daemon) would keep a pipe open, and its reader
/// would wait for it.
///
/// Spawned with posix_spawn rather than Foundation's `Process`, with every descriptor above 2 closed and
/// the signal mask and dispositions reset (the test runner blocks signals, which children would inherit),
/// and reaped by `waitpid` on its own pid, with a deadline. In CI a test once waited 1000 s: the helper
/// thread's `crun-fast state` had ended, but `Process` had not noticed. It learns of exits from SIGCHLD,
/// and in a process whose threads block signals unevenly, one can be lost. Nothing else exited until the
/// container's `sleep 1000` ran out, and that exit released both waits at once. Here a child outlives its
/// deadline only as long as SIGKILL takes (a process stuck in the kernel can take longer). One dropped
/// without `wait` is killed and reaped by `deinit`.
public final class Spawned: Sendable {
  public let pid: pid_t
  private let output: TempDir
  /// Set, under the lock, by the `waitpid` that reaps it: from then on the pid may be another process's,
  /// so `signal` does nothing and `wait` refuses.
  private let reaped = Mutex(false)

  public init(_ program: String, _ arguments: [String], cwd: String? = nil) throws {
    output = try TempDir("spawn")
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, output.sub("stdout"), O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    posix_spawn_file_actions_addopen(&actions, 2, output.sub("stderr"), O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    SpawnSetup.closeFrom(&actions, 3)
    if let cwd { SpawnSetup.changeDirectory(&actions, to: cwd) }
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    SpawnSetup.resetSignals(&attributes)
    // With `cwd`, the child changes directory before its exec: a relative program is found from here first.
    var path = program
    if cwd != nil && !program.hasPrefix("/"), let here = getcwd(nil, 0) {
      path = String(cString: here) + "/" + program
      free(here)
    }
    let argv = ([program] + arguments).map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, path, &actions, &attributes, argv, environ)
    guard rc == 0 else {
      output.remove()
      throw SystemError("posix_spawn", path: program, errno: Errno(rc))
    }
    self.pid = pid
  }

  /// Not yet exited (asked without reaping it).
  public var isRunning: Bool {
    guard !reaped.withLock({ $0 }) else { return false }
    var info = siginfo_t()
    return waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info._sifields._sigchld.si_pid == 0
  }

  /// Sends `signal`, unless it has been reaped.
  public func signal(_ signal: Int32) {
    reaped.withLock { if !$0 { _ = kill(pid, signal) } }
  }

  /// Reaps it, killing it with SIGKILL once `timeout` seconds have passed, and returns how it ended and
  /// what it printed. A second call throws.
  public func wait(timeout: Double = 600) throws -> RunResult {
    guard !reaped.withLock({ $0 }) else { throw SystemError("waitpid", path: "\(pid)", errno: Errno(ECHILD)) }
    defer { output.remove() }
    let deadline = Clock.monotonicSeconds + timeout
    var status: Int32 = 0
    var timedOut = false
    var pause: UInt32 = 50
    while true {
      let (result, error) = reaped.withLock { done -> (pid_t, Int32) in
        let result = waitpid(pid, &status, WNOHANG)
        if result == pid { done = true }
        return (result, errno)
      }
      if result == pid { break }
      if result < 0 && error != EINTR { throw SystemError("waitpid", path: "\(pid)", errno: Errno(error)) }
      if !timedOut && Clock.monotonicSeconds > deadline {
        timedOut = true
        signal(SIGKILL)
      }
      usleep(pause)
      pause = min(pause * 2, 5000)
    }
    let signal = status & 0x7f
    return RunResult(
      status: signal == 0 ? (status >> 8) & 0xff : 128 + signal,
      stdout: String(decoding: (try? Files.read(output.sub("stdout"))) ?? [], as: UTF8.self),
      stderr: String(decoding: (try? Files.read(output.sub("stderr"))) ?? [], as: UTF8.self), timedOut: timedOut)
  }

  deinit {
    let done = reaped.withLock { $0 }
    guard !done else { return }
    kill(pid, SIGKILL)
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    output.remove()
  }
}

enum Clock {
  static var monotonicSeconds: Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
  }
}
