import Glibc
import LinuxSystem
import Testing

/// The one spawn-and-wait: what a child gets (signals, descriptors, environment, directory), how its end
/// is reported, and that a wait is for the process, not for its output.
@Suite struct ChildProcessTests {
  func shell(_ script: String) -> ChildProcess.Configuration {
    ChildProcess.Configuration(path: "/bin/sh", arguments: ["sh", "-c", script])
  }

  /// Runs `configuration` with stdout and stderr on a pipe; returns how it ended and what it wrote.
  func run(_ configuration: ChildProcess.Configuration, timeout: Double? = 30) throws -> ChildProcess.Exit {
    var configuration = configuration
    let pipe = try FileDescriptor.pipe()
    configuration.stdout = .descriptor(pipe.write.raw)
    configuration.stderr = .descriptor(pipe.write.raw)
    let child = try ChildProcess(configuration)
    let output = pipe.read
    _ = consume pipe.write
    return try child.wait(timeout: timeout, output: output.raw)
  }

  func text(_ exit: ChildProcess.Exit) -> String { String(decoding: exit.output, as: UTF8.self) }

  @Test func exitStatusAndOutputAreReported() throws {
    let exit = try run(shell("echo out; echo err >&2; exit 3"))
    #expect(exit.code == 3 && exit.signal == 0 && !exit.succeeded && !exit.timedOut)
    #expect(text(exit) == "out\nerr\n")
    #expect(exit.lastLine == "err")
    #expect(exit.describe(timeout: nil) == "exit status 3")
    #expect(try run(shell("true")).succeeded)
  }

  @Test func aSignalEndingItIsReportedAsAShellWould() throws {
    let exit = try run(shell("kill -9 $$"))
    #expect(exit.signal == SIGKILL && exit.code == 128 + SIGKILL)
    #expect(exit.describe(timeout: nil) == "killed by signal 9")
  }

  @Test func pastItsDeadlineItIsKilled() throws {
    let exit = try run(shell("echo started; exec sleep 30"), timeout: 0.3)
    #expect(exit.timedOut && !exit.succeeded && exit.signal == SIGKILL)
    #expect(text(exit) == "started\n", "output written before the deadline is kept")
  }

  /// A daemon left behind holds the output pipe open; the wait ends with the process it started.
  @Test func theWaitIsForTheProcessNotForEndOfOutput() throws {
    let exit = try run(shell("sleep 30 & echo $!"))
    let daemon = try #require(pid_t(text(exit).trimmingCharacters(in: .whitespacesAndNewlines)))
    defer { kill(daemon, SIGKILL) }
    #expect(exit.succeeded)
    #expect(kill(daemon, 0) == 0, "the daemon still runs, and still holds the pipe, when the wait returns")
  }

  /// Whatever this process blocks, the child starts with nothing blocked and only its stdio open.
  @Test func theChildGetsNoBlockedSignalsAndNoStrayDescriptors() throws {
    var block = sigset_t()
    sigemptyset(&block)
    sigaddset(&block, SIGUSR1)
    var old = sigset_t()
    pthread_sigmask(SIG_BLOCK, &block, &old)
    defer { pthread_sigmask(SIG_SETMASK, &old, nil) }
    let stray = open("/dev/null", O_RDONLY)  // not close-on-exec: closefrom must still keep it out
    defer { close(stray) }
    let exit = try run(shell("grep SigBlk /proc/self/status; ls /proc/self/fd | sort -n | tr '\\n' ' '"))
    let lines = text(exit).split(separator: "\n")
    #expect(lines.first?.hasSuffix("0000000000000000") == true, "\(lines)")
    // 0, 1, 2, and the descriptor `ls` itself opens on /proc/self/fd.
    #expect(lines.last.map { $0.split(separator: " ").count } == 4, "\(lines)")
  }

  @Test func environmentDirectoryAndPassedDescriptorsAreHonoured() throws {
    var configuration = shell("echo \"$A:$PWD\"; cat <&5")
    configuration.environment = ["A=b", "PATH=/usr/bin:/bin"]
    configuration.directory = "/tmp"
    let input = try FileDescriptor.pipe()
    _ = "passed\n".withCString { write(input.write.raw, $0, 7) }
    let end = input.read
    _ = consume input.write
    configuration.passing = [(end.raw, 5)]
    #expect(text(try run(configuration)) == "b:/tmp\npassed\n")
  }

  /// A relative program is found from this process's directory, not the child's.
  @Test func aRelativeProgramIsResolvedBeforeTheChildChangesDirectory() throws {
    let here = try #require(getcwd(nil, 0))
    defer { free(here) }
    guard chdir("/bin") == 0 else { throw SystemError("chdir", path: "/bin") }
    defer { _ = chdir(here) }
    var configuration = ChildProcess.Configuration(path: "sh", arguments: ["sh", "-c", "pwd"])
    configuration.directory = "/tmp"
    #expect(text(try run(configuration)) == "/tmp\n")
  }

  @Test func aProgramThatIsNotThereIsNamed() throws {
    let error = #expect(throws: SystemError.self) {
      try ChildProcess(ChildProcess.Configuration(path: "/no/such/program", arguments: ["x"]))
    }
    #expect(error?.errno == .ENOENT && error?.path == "/no/such/program")
    var configuration = ChildProcess.Configuration(path: "no-such-program-here", arguments: ["x"])
    configuration.searchPath = true
    #expect(throws: SystemError.self) { try ChildProcess(configuration) }
  }

  @Test func aSecondWaitIsRefusedAndASignalAfterTheReapGoesNowhere() throws {
    let child = try ChildProcess(ChildProcess.Configuration(path: "/bin/true", arguments: ["true"]))
    #expect(try child.wait(timeout: 30).succeeded)
    #expect(!child.isRunning)
    let error = #expect(throws: SystemError.self) { try child.wait() }
    #expect(error?.errno == Errno(ECHILD))
  }

  /// A child dropped without a wait is killed and reaped, not left running or as a zombie.
  @Test func aDroppedChildIsKilledAndReaped() throws {
    var pid: pid_t = 0
    do {
      let child = try ChildProcess(ChildProcess.Configuration(path: "/bin/sleep", arguments: ["sleep", "30"]))
      pid = child.pid
      #expect(child.isRunning)
    }
    #expect(kill(pid, 0) != 0 && errno == ESRCH, "gone, zombie included")
  }

  /// A detached child (a daemon) is left running when its ChildProcess goes; a new session is its own.
  @Test func aDetachedChildOutlivesItsHandleInASessionOfItsOwn() throws {
    var configuration = shell("cut -d' ' -f6 /proc/self/stat; exec sleep 30")
    configuration.newSession = true
    let pipe = try FileDescriptor.pipe()
    configuration.stdout = .descriptor(pipe.write.raw)
    var pid: pid_t = 0
    do {
      let child = try ChildProcess(configuration)
      pid = child.pid
      child.detach()
    }
    defer {
      kill(pid, SIGKILL)
      var status: Int32 = 0
      waitpid(pid, &status, 0)
    }
    #expect(kill(pid, 0) == 0, "still running")
    var buffer = [UInt8](repeating: 0, count: 64)
    let n = buffer.withUnsafeMutableBytes { read(pipe.read.raw, $0.baseAddress, $0.count) }
    let session = String(decoding: buffer.prefix(max(n, 0)), as: UTF8.self).trimmingCharacters(
      in: .whitespacesAndNewlines)
    #expect(session == "\(pid)", "its session is its own: \(session)")
  }

  @Test func pipesAreCloseOnExecAndReleaseKeepsTheDescriptorOpen() throws {
    let pipe = try FileDescriptor.pipe()
    #expect(fcntl(pipe.read.raw, F_GETFD) & FD_CLOEXEC != 0)
    #expect(fcntl(pipe.write.raw, F_GETFD) & FD_CLOEXEC != 0)
    let readEnd = pipe.read.raw
    let kept = pipe.write.release()
    defer { close(kept) }
    #expect(fcntl(kept, F_GETFD) >= 0, "released: still open")
    _ = consume pipe.read
    #expect(fcntl(readEnd, F_GETFD) < 0 && errno == EBADF, "dropped: closed")
  }
}
