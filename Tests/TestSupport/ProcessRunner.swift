import Glibc
import LinuxSystem
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
/// Started and reaped by `ChildProcess`, the product's own spawn-and-wait (posix_spawn, signals reset,
/// descriptors above 2 closed, a pidfd wait with a deadline), not Foundation's `Process`: in CI a test once
/// waited 1000 s because `Process`, which learns of exits from SIGCHLD, missed one in a process whose
/// threads block signals unevenly. Here a child outlives its deadline only as long as SIGKILL takes (a
/// process stuck in the kernel can take longer). One dropped without `wait` is killed and reaped.
public final class Spawned: Sendable {
  private let child: ChildProcess
  private let output: TempDir
  public var pid: pid_t { child.pid }

  public init(_ program: String, _ arguments: [String], cwd: String? = nil) throws {
    output = try TempDir("spawn")
    var configuration = ChildProcess.Configuration(path: program, arguments: [program] + arguments)
    configuration.directory = cwd
    configuration.stdout = .file(output.sub("stdout"), append: false)
    configuration.stderr = .file(output.sub("stderr"), append: false)
    do {
      child = try ChildProcess(configuration)
    } catch {
      output.remove()
      throw error
    }
  }

  /// Not yet exited (asked without reaping it).
  public var isRunning: Bool { child.isRunning }

  /// Sends `signal`, unless it has been reaped.
  public func signal(_ signal: Int32) { child.signal(signal) }

  /// Reaps it, killing it with SIGKILL once `timeout` seconds have passed, and returns how it ended and
  /// what it printed. A second call throws.
  public func wait(timeout: Double = 600) throws -> RunResult {
    let exit = try child.wait(timeout: timeout)
    defer { output.remove() }
    return RunResult(
      status: exit.code,
      stdout: String(decoding: (try? Files.read(output.sub("stdout"))) ?? [], as: UTF8.self),
      stderr: String(decoding: (try? Files.read(output.sub("stderr"))) ?? [], as: UTF8.self), timedOut: exit.timedOut)
  }

  deinit { output.remove() }  // a second removal after `wait`'s finds nothing
}
