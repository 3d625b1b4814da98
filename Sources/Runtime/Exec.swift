import CContainerInit
import Cgroups
import Glibc
import JSON
import LinuxSystem
import OCISpec
import Seccomp

/// What `exec` runs, as runc's flags give it.
public struct ExecOptions: Sendable {
  /// The command; empty when `processFile` gives it.
  public var args: [String] = []
  /// A JSON `process` object replacing the configuration's process and every flag below (runc's --process).
  public var processFile: String?
  public var tty = false
  public var cwd: String?
  /// KEY=VALUE, added to (or replacing in) the configuration's environment.
  public var env: [String] = []
  public var uid: UInt32?
  public var gid: UInt32?
  public var additionalGids: [UInt32] = []
  /// Capabilities added to the bounding, effective and permitted sets (runc's --cap).
  public var addedCapabilities: [String] = []
  public var noNewPrivileges = false
  public var detach = false
  public var pidFile: String?
  public var consoleSocket: String?

  public init() {}
}

extension Runtime {
  /// `exec`: starts a process inside a created or running container: in all of its init's namespaces
  /// and in its cgroup, with the configuration's capabilities, no_new_privs, seccomp and rlimits (or
  /// those of `--process`). The namespaces are entered by CContainerInit between clone and execve, the
  /// pid namespace by this thread just around the clone, so the process is our child, born inside.
  /// Returns the process's exit status (128 + N for signal N), or 0 at once when detached.
  public func exec(id: String, _ options: ExecOptions) throws -> Int32 {
    let lock = try store.lock(id, exclusive: false)
    var locked = true
    defer { if locked { lock.release() } }
    let state = try store.load(id)
    guard status(of: state) != .stopped else { throw RuntimeError("cannot exec in a stopped container \"\(id)\"") }
    let spec = try Spec.decode(try Files.read(state.bundle + "/config.json"))
    var plan = InitPlan()
    try plan.setProcess(
      try execProcess(options, base: spec.process), seccomp: spec.linux?.seccomp, rootfs: state.rootfs,
      seccompCache: SeccompCache(directory: store.seccompCache))
    guard !plan.args.isEmpty else { throw RuntimeError("exec needs a command") }
    (plan.joins, plan.pidJoin) = Namespaces.joins(of: state.pid)
    // A container without a mount namespace of its own is a chroot: so is what runs in it.
    if !plan.joins.contains(where: { $0.path.hasSuffix("/ns/mnt") }) { plan.steps = [PlanStep(.chroot, state.rootfs)] }
    plan.execNow = true
    plan.oomScoreAdj = nil
    if plan.console && options.consoleSocket == nil {
      throw RuntimeError("exec --tty needs --console-socket to send the terminal to")
    }
    let placement = state.cgroupPath.map { Cgroups.open(path: $0, version: state.cgroupVersion).placement }

    var forwarded = sigset_t()
    var previous = sigset_t()
    if !options.detach {
      // Blocked before the clone so none is lost; the child unblocks its own before execve.
      sigfillset(&forwarded)
      sigprocmask(SIG_BLOCK, &forwarded, &previous)
    }
    defer { if !options.detach { sigprocmask(SIG_SETMASK, &previous, nil) } }
    let child = try InitProcess.spawn(plan, gate: .message, placement: placement)
    do {
      try child.proceed()
      if plan.console, let socket = options.consoleSocket {
        let master = try child.receiveConsole()
        try ConsoleSocket.send(master: master.raw, to: socket)
      }
      try child.waitExec()
      if let pidFile = options.pidFile {
        try Files.writeAtomically(pidFile, Array("\(child.pid)".utf8), durable: false)
      }
    } catch {
      child.killAndReap()
      guard var failure = error as? InitError else { throw error }
      failure.process = "exec"
      throw failure
    }
    // The container may be deleted while this process runs; the lock only covered the set-up.
    lock.release()
    locked = false
    return options.detach ? 0 : forwardSignals(until: child.pid)
  }

  /// The process to exec: the one in `--process`, or the configuration's with the command and flags applied.
  private func execProcess(_ options: ExecOptions, base: Spec.Process?) throws -> Spec.Process {
    if let file = options.processFile {
      guard options.args.isEmpty else {
        throw RuntimeError("exec: give the command in --process or after the id, not both")
      }
      let bytes = try Files.read(file)
      do {
        return try Spec.Process(json: try JSONValue(parsing: bytes), path: "")
      } catch let error as JSONFieldError {
        throw RuntimeError("--process \"\(file)\": not a valid process object", cause: error)
      } catch {
        throw RuntimeError("--process \"\(file)\": not valid JSON", cause: error)
      }
    }
    guard var process = base else { throw SpecError(field: "process", "required field is missing") }
    process.args = options.args
    process.terminal = options.tty
    if let cwd = options.cwd { process.cwd = cwd }
    if let uid = options.uid { process.user.uid = uid }
    if let gid = options.gid { process.user.gid = gid }
    if !options.additionalGids.isEmpty { process.user.additionalGids = options.additionalGids }
    if options.noNewPrivileges { process.noNewPrivileges = true }
    if !options.addedCapabilities.isEmpty {
      var caps = process.capabilities ?? Spec.Capabilities(all: [])
      caps.bounding = (caps.bounding ?? []) + options.addedCapabilities
      caps.effective = (caps.effective ?? []) + options.addedCapabilities
      caps.permitted = (caps.permitted ?? []) + options.addedCapabilities
      process.capabilities = caps
    }
    var env = process.env ?? []
    for entry in options.env {
      let key = entry.split(separator: "=", maxSplits: 1).first.map { $0 + "=" } ?? entry
      env.removeAll { $0.hasPrefix(key) }
      env.append(entry)
    }
    process.env = env
    return process
  }
}
