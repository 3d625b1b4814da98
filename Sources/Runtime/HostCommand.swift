import CContainerInit
import CLinux
import Glibc
import LinuxSystem

/// A program the runtime runs in its own namespaces and waits for: `lazyfs mount` and `umount`, and the
/// hooks that run on the host side (prestart, createRuntime, poststart, poststop).
///
/// It is started and reaped by `ChildProcess` (posix_spawn, signals reset, only its stdio inherited; the
/// wait is for the process, through a pidfd, not for EOF on the pipe: a daemon it leaves behind may hold
/// the pipe open for ever). Its stdin is a memfd holding `input`, so a large input never blocks on a full
/// pipe; stdout and stderr go to one pipe, kept for the error message.
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

  /// How the program ended and what it wrote (stdout and stderr, the first 64 KiB).
  typealias Outcome = ChildProcess.Exit

  func run() throws -> Outcome {
    let stdin = FileDescriptor(adopting: try syscall("memfd_create") { cfi_memfd("stdin") })
    if !input.isEmpty {
      _ = try input.withUnsafeBytes { bytes in
        try syscall("write", path: "memfd") { write(stdin.raw, bytes.baseAddress, bytes.count) }
      }
      lseek(stdin.raw, 0, SEEK_SET)
    }
    let pipe = try FileDescriptor.pipe()
    let child: ChildProcess
    if let target = namespacesOf {
      child = ChildProcess(adopting: try spawnInside(target, stdio: [stdin.raw, pipe.write.raw, pipe.write.raw]))
    } else {
      var configuration = ChildProcess.Configuration(path: path, arguments: arguments)
      configuration.environment = environment
      configuration.stdin = .descriptor(stdin.raw)
      configuration.stdout = .descriptor(pipe.write.raw)
      configuration.stderr = .descriptor(pipe.write.raw)
      child = try ChildProcess(configuration)
    }
    let output = pipe.read
    _ = consume pipe.write  // the child's now: its exit (and its children's) reads as EOF
    return try child.wait(timeout: timeout.map(Double.init), output: output.raw)
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
      process.killAndReap()
      throw error
    }
    return process.pid
  }
}
