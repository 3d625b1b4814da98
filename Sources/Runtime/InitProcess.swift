import CContainerInit
import Cgroups
import Glibc
import LinuxSystem

/// The parent's side of a container init started by CContainerInit: its pid and the socket over which
/// the two step through the protocol (CONTINUE, READY, START, or ERROR from the child at any point).
public final class InitProcess {
  public let pid: Int32
  /// Our end of the socket, until `closeSync`.
  private var sync: FileDescriptor?
  private var syncRaw: Int32 { sync?.raw ?? -1 }

  private init(pid: Int32, sync: consuming FileDescriptor) {
    self.pid = pid
    self.sync = consume sync
  }

  /// How the init waits for `start` once set up.
  public enum StartGate {
    /// Opening `name` below the directory `fd` for writing: the exec fifo of `create`, which outlives us.
    case fifo(directory: Int32, name: String)
    /// A START message from this process: `run` starts what it created itself.
    case message
  }

  /// Clones the init. It then waits for `proceed()`, so the caller can write id maps and join cgroups.
  ///
  /// `stdio` are descriptors the child takes as its stdin, stdout and stderr (-1 keeps ours);
  /// `stateDirectory` is the container's state directory (O_PATH), where startContainer hooks find the state.
  public static func spawn(
    _ plan: InitPlan, gate: StartGate, placement: CgroupPlacement?, stdio: [Int32] = [-1, -1, -1],
    stateDirectory: Int32 = -1
  ) throws -> InitProcess {
    var pair: [Int32] = [-1, -1]
    let type = Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
    _ = try syscall("socketpair") { socketpair(AF_UNIX, type, 0, &pair) }
    let ours = FileDescriptor(adopting: pair[0])
    // The child's end, and what the plan opens for it: closed here once the child has its copies.
    let theirs = FileDescriptor(adopting: pair[1])
    var opened: [SharedDescriptor] = []
    do {
      func open(_ path: String) throws -> Int32 {
        let fd = try FileDescriptor.open(path, O_RDONLY)
        let raw = fd.raw
        opened.append(SharedDescriptor(fd))
        return raw
      }
      let arena = CArena()
      var config = cfi_config()
      config.clone_flags = plan.cloneFlags
      config.unshare_cgroup = plan.unshareCgroup ? 1 : 0
      let joins = try plan.joins.map { cfi_join(fd: try open($0.path), nstype: $0.type) }
      config.joins = arena.array(joins)
      config.join_count = Int32(joins.count)
      config.pid_join_fd = try plan.pidJoin.map(open) ?? -1
      config.cgroup_dir_fd = -1
      switch placement {
      case .selfAttach(let files):
        let fds = try files.map { path in
          let fd = try syscall("open", path: path) { Glibc.open(path, O_WRONLY | O_CLOEXEC) }
          opened.append(SharedDescriptor(FileDescriptor(adopting: fd)))
          return fd
        }
        config.cgroup_task_fds = arena.array(fds)
        config.cgroup_task_fd_count = Int32(fds.count)
      case .cloneInto(let directory):
        config.cgroup_dir_fd = try syscall("open", path: directory) {
          Glibc.open(directory, oPath | O_DIRECTORY | O_CLOEXEC)
        }
        opened.append(SharedDescriptor(FileDescriptor(adopting: config.cgroup_dir_fd)))
      case nil: break
      }
      config.sync_fd = theirs.raw
      config.hostname = arena.string(plan.hostname)
      config.domainname = arena.string(plan.domainname)
      let steps = plan.steps.map { step in
        cfi_step(
          kind: step.kind.rawValue, optional: step.optional ? 1 : 0, source: arena.string(step.source),
          target: arena.string(step.target), fstype: arena.string(step.fstype), data: arena.string(step.data),
          flags: step.flags, mode: step.mode, uid: step.uid, gid: step.gid, dev: step.dev)
      }
      config.steps = arena.array(steps)
      config.step_count = Int32(steps.count)
      let limits = plan.rlimits.map { cfi_rlimit(resource: $0.resource, soft: $0.soft, hard: $0.hard) }
      config.rlimits = arena.array(limits)
      config.rlimit_count = Int32(limits.count)
      config.user_namespace = plan.userNamespace ? 1 : 0
      config.uid = plan.uid
      config.gid = plan.gid
      config.groups = arena.array(plan.groups)
      config.group_count = Int32(plan.groups.count)
      config.set_groups = 1
      if let caps = plan.capabilities {
        config.set_caps = 1
        config.cap_last = Int32(CapabilityLimits.last)
        config.cap_effective = caps.effective
        config.cap_permitted = caps.permitted
        config.cap_inheritable = caps.inheritable
        config.cap_bounding = caps.bounding
        config.cap_ambient = caps.ambient
      }
      config.no_new_privs = plan.noNewPrivileges ? 1 : 0
      if let program = plan.seccomp {
        config.seccomp_filter = arena.bytes(program)
        config.seccomp_len = UInt16(program.count / 8)
        config.seccomp_flags = plan.seccompFlags
      }
      config.umask = plan.umask
      config.cwd = arena.string(plan.cwd)
      config.argv = arena.strings(plan.args)
      config.envp = arena.strings(plan.env)
      config.path_env = arena.string(plan.pathVariable)
      config.exec_path = arena.string(plan.executable)
      config.stdio = (stdio[0], stdio[1], stdio[2])
      config.exec_now = plan.execNow ? 1 : 0
      config.console = plan.console ? 1 : 0
      config.console_mount = plan.consoleMount ? 1 : 0
      (config.console_rows, config.console_columns) = plan.consoleSize ?? (0, 0)
      // A startContainer hook without env gets the container process's, as runc's init passes its own.
      let hooks = plan.startHooks.map { hook in
        cfi_hook(
          path: arena.string(hook.path), argv: arena.strings(hook.argv), envp: arena.strings(hook.env ?? plan.env),
          timeout: Int32(clamping: hook.timeout ?? 0))
      }
      config.start_hooks = arena.array(hooks)
      config.start_hook_count = Int32(hooks.count)
      config.state_dir_fd = stateDirectory
      config.hook_state_name = arena.string(Hooks.stateFileName)
      switch gate {
      case .fifo(let directory, let name):
        config.fifo_dir_fd = directory
        config.fifo_name = arena.string(name)
      case .message:
        config.fifo_dir_fd = -1
      }
      let pid = withExtendedLifetime(arena) { cfi_spawn(&config) }
      guard pid > 0 else { throw SystemError("clone3") }
      return InitProcess(pid: pid, sync: ours)
    }
  }

  /// Lets the init go on with its set-up (after id maps and cgroups are in place).
  public func proceed() throws { try send(CFI_MSG_CONTINUE) }

  /// Waits until the init is set up and waiting for start; its failure arrives as an `InitError`.
  public func waitReady() throws {
    try expect(CFI_MSG_READY)
  }

  /// Tells an init spawned with `.message` to execve, and waits until it has (the socket closes on exec).
  public func start() throws {
    try send(CFI_MSG_START)
    var message = [UInt8](repeating: 0, count: MemoryLayout<cfi_message>.size)
    let n = try receive(&message)
    if n == 0 { return }
    throw Self.error(from: message)
  }

  /// Waits until the init reaches the create-time hooks (after its mounts, before pivot_root); it then
  /// waits for `proceed()`.
  public func waitForHooks() throws { try expect(CFI_MSG_HOOKS) }

  /// Receives the pty master of a child with `console` set (sent after its mount steps); the caller owns it.
  public func receiveConsole() throws -> FileDescriptor {
    var message = [UInt8](repeating: 0, count: MemoryLayout<cfi_message>.size)
    var fd: Int32 = -1
    let sync = syncRaw
    let n = try syscall("recvmsg") {
      message.withUnsafeMutableBytes { cfi_receive_fd(sync, $0.baseAddress, $0.count, &fd) }
    }
    let type = n >= 4 ? message.withUnsafeBytes { $0.load(fromByteOffset: 0, as: Int32.self) } : 0
    let received = fd >= 0 ? FileDescriptor(adopting: fd) : nil
    if type == Int32(CFI_MSG_CONSOLE.rawValue), let received { return received }
    if n < 4 { throw RuntimeError("container init exited during set-up") }
    throw Self.error(from: message)
  }

  /// Waits until a child spawned with `execNow` has exec'd (the socket closes on exec).
  public func waitExec() throws {
    var message = [UInt8](repeating: 0, count: MemoryLayout<cfi_message>.size)
    let n = try receive(&message)
    if n == 0 { return }
    throw Self.error(from: message)
  }

  /// Kills the init and reaps it: undoing a set-up that failed after the clone.
  public func killAndReap() {
    closeSync()
    let child = ChildProcess(adopting: pid)
    child.signal(SIGKILL)
    _ = try? child.wait()
  }

  /// Drops our end of the socket; an init still waiting on it exits.
  public func closeSync() { sync = nil }

  private func send(_ type: cfi_message_type) throws {
    var message = [UInt8](repeating: 0, count: MemoryLayout<cfi_message>.size)
    message.withUnsafeMutableBytes { $0.storeBytes(of: Int32(type.rawValue), toByteOffset: 0, as: Int32.self) }
    _ = try syscall("send") {
      message.withUnsafeBytes { Glibc.send(syncRaw, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }
  }

  private func receive(_ message: inout [UInt8]) throws -> Int {
    let sync = syncRaw
    return try syscall("recv") { message.withUnsafeMutableBytes { recv(sync, $0.baseAddress, $0.count, 0) } }
  }

  private func expect(_ type: cfi_message_type) throws {
    var message = [UInt8](repeating: 0, count: MemoryLayout<cfi_message>.size)
    let n = try receive(&message)
    guard n >= 4 else { throw RuntimeError("container init exited during set-up") }
    let got = message.withUnsafeBytes { $0.load(fromByteOffset: 0, as: Int32.self) }
    if got == Int32(type.rawValue) { return }
    throw Self.error(from: message)
  }

  private static func error(from message: [UInt8]) -> Error {
    message.withUnsafeBytes { raw in
      let type = raw.load(fromByteOffset: 0, as: Int32.self)
      guard type == Int32(CFI_MSG_ERROR.rawValue) else {
        return RuntimeError("container init: unexpected message \(type)")
      }
      let errno = raw.load(fromByteOffset: 4, as: Int32.self)
      let callOffset = MemoryLayout<cfi_message>.offset(of: \cfi_message.call) ?? 8
      let pathOffset = MemoryLayout<cfi_message>.offset(of: \cfi_message.path) ?? 40
      func text(_ offset: Int, _ capacity: Int) -> String {
        let bytes = raw[offset..<(offset + capacity)].prefix { $0 != 0 }
        return String(decoding: bytes, as: UTF8.self)
      }
      let path = text(pathOffset, 4096)
      let statusOffset = MemoryLayout<cfi_message>.offset(of: \cfi_message.status) ?? 4136
      return InitError(
        call: text(callOffset, 32), path: path.isEmpty ? nil : path, errno: errno,
        status: raw.load(fromByteOffset: statusOffset, as: Int32.self))
    }
  }
}

/// The highest capability number of the running kernel, which the init walks when dropping the bounding set.
enum CapabilityLimits {
  static var last: Int {
    if let bytes = try? Files.read("/proc/sys/kernel/cap_last_cap"),
      let value = Int(String(decoding: bytes.filter { $0 != 10 }, as: UTF8.self))
    {
      return value
    }
    return 40
  }
}
