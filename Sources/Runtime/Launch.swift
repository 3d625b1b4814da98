import CContainerInit
import Glibc
import LinuxSystem
import OCISpec

extension Runtime {
  /// Creates the container up to the point where its init waits at `gate`, and records it. On any
  /// failure everything made so far (process, cgroup, state directory) is removed again.
  func launch(id: String, _ prepared: Prepared, gate: LaunchGate, pidFile: String?, consoleSocket: String?) throws
    -> (InitProcess, ContainerState, ContainerLock)
  {
    if prepared.bundle.spec.process?.terminal == true && consoleSocket == nil {
      throw RuntimeError("process.terminal is set: --console-socket must name the socket to send the terminal to")
    }
    let lock = try store.claim(id)
    var prepared = prepared
    var process: InitProcess?
    var cgroupCreated = false
    /// The state directory, opened (O_PATH) when the init needs it: for the exec fifo or start hooks.
    var stateDirectory: FileDescriptor? = nil
    let created = Timestamp.now()
    do {
      if let lazyRoot = prepared.bundle.lazyRoot {
        prepared.bundle.rootfs = try lazyRoot.mount(in: store.directory(id), id: id, images: store.images)
        prepared.plan = try plan(prepared)
        Timeline.mark("lazy_root")
      }
      guard let plan = prepared.plan else { throw RuntimeError("container \"\(id)\" has no init plan") }
      try recordCgroup(id, prepared)
      cgroupCreated = true  // destroy() skips what create() did not get to
      try prepared.cgroup.create(for: prepared.resources)
      try prepared.cgroup.set(prepared.resources)
      Timeline.mark("cgroup")
      let initGate: InitProcess.StartGate
      switch gate {
      case .fifo:
        let fifo = store.fifo(id)
        _ = try syscall("mkfifo", path: fifo) { mkfifo(fifo, 0o622) }
        chmod(fifo, 0o622)
        let directory = FileDescriptor(adopting: try Self.openStateDirectory(store.directory(id)))
        initGate = .fifo(directory: directory.raw, name: "exec.fifo")
        stateDirectory = consume directory
      case .message:
        initGate = .message
      }
      if !plan.startHooks.isEmpty && stateDirectory == nil {
        stateDirectory = FileDescriptor(adopting: try Self.openStateDirectory(store.directory(id)))
      }
      let spawned = try InitProcess.spawn(
        plan, gate: initGate, placement: prepared.cgroup.placement, stateDirectory: stateDirectory?.raw ?? -1)
      process = spawned
      Timeline.mark("clone")
      if plan.userNamespace { try writeIDMaps(pid: spawned.pid, plan) }
      if let score = plan.oomScoreAdj {
        try Files.writeText("/proc/\(spawned.pid)/oom_score_adj", "\(score)")
      }
      try spawned.proceed()
      // Before the create-time hooks, which see the network as runc leaves it (its init brings `lo` up first).
      if plan.cloneFlags & CFI_CLONE_NEWNET != 0 { try bringUpLoopback(of: spawned) }
      if plan.steps.contains(where: { $0.kind == .hooks }) {
        try runCreateHooks(id, prepared, initProcess: spawned, created: created)
      }
      if plan.console, let consoleSocket {
        let master = try spawned.receiveConsole()
        try ConsoleSocket.send(master: master.raw, to: consoleSocket)
      }
      // The state is written while the init sets itself up on the other core; a failed set-up removes it
      // with the rest of the state directory below.
      guard let startTime = ProcessStat.read(spawned.pid)?.startTime else {
        throw RuntimeError("container init \(spawned.pid) exited during set-up")
      }
      let namespaces = prepared.bundle.spec.linux?.namespaces ?? []
      let state = ContainerState(
        ociVersion: prepared.bundle.spec.ociVersion, id: id, pid: spawned.pid, startTime: startTime,
        bundle: prepared.bundle.path, rootfs: prepared.bundle.rootfs, created: created,
        annotations: prepared.bundle.spec.annotations, cgroupVersion: prepared.cgroupVersion,
        cgroupPath: prepared.cgroup.path, ownPidNamespace: namespaces.contains { $0.type == "pid" && $0.path == nil },
        hooks: prepared.bundle.spec.hooks, lazyImage: prepared.bundle.lazyRoot?.image)
      try store.save(state)
      Timeline.mark("state")
      try spawned.waitReady()
      Timeline.mark("init_ready")
      if let pidFile { try Files.writeAtomically(pidFile, Array("\(spawned.pid)".utf8), durable: false) }
      return (spawned, state, lock)
    } catch {
      process?.killAndReap()
      if cgroupCreated { try? prepared.cgroup.destroy() }
      try? removeDirectory(id, lazyRoot: prepared.bundle.lazyRoot != nil)
      lock.release()
      throw error
    }
  }

  enum LaunchGate { case fifo, message }

  private static func openStateDirectory(_ path: String) throws -> Int32 {
    try syscall("open", path: path) { open(path, oPath | O_DIRECTORY | O_CLOEXEC) }
  }

  /// `lo` of the init's new network namespace comes up, as runc and crun leave it. Done here, from this
  /// thread entering the namespace for a moment, while the init makes its mounts: bringing up `lo` (IPv4
  /// and IPv6 loopback addresses and routes) took ~0.4 ms of the init's set-up when the init did it.
  private func bringUpLoopback(of process: InitProcess) throws {
    let path = "/proc/\(process.pid)/ns/net"
    let fd: FileDescriptor
    do {
      fd = FileDescriptor(adopting: try syscall("open", path: path) { Glibc.open(path, O_RDONLY | O_CLOEXEC) })
    } catch let error as SystemError where error.errno == .ENOENT || error.errno == .ESRCH {
      return  // an init already gone reports why through waitReady
    }
    var failed: UnsafePointer<CChar>?
    guard cfi_loopback_up_in(fd.raw, &failed) == 0 else {
      throw SystemError(failed.map { String(cString: $0) } ?? "ioctl(SIOCSIFFLAGS) lo", path: path)
    }
  }

  /// Writes where the cgroup will be (`StateStore.cgroupRecord`) before it is made. No fsync: it only
  /// has to outlive a crash of this process, not of the machine, which takes the cgroup along.
  private func recordCgroup(_ id: String, _ prepared: Prepared) throws {
    let fd = try FileDescriptor.open(store.cgroupRecord(id), O_WRONLY | O_CREAT | O_TRUNC, mode: 0o600)
    try fd.write(Array("\(prepared.cgroupVersion.rawValue) \(prepared.cgroup.path)".utf8))
  }

  /// prestart, createRuntime and createContainer, once the init stops before pivot_root, then lets it go on.
  private func runCreateHooks(_ id: String, _ prepared: Prepared, initProcess: InitProcess, created: String)
    throws
  {
    try initProcess.waitForHooks()
    let hooks = prepared.bundle.spec.hooks
    let state = OCIState(
      ociVersion: prepared.bundle.spec.ociVersion, id: id, pid: initProcess.pid, status: .creating,
      bundle: prepared.bundle.path, rootfs: prepared.bundle.rootfs, created: created, owner: "",
      annotations: prepared.bundle.spec.annotations)
    try runHooks("prestart", hooks?.prestart, state: state)
    try runHooks("createRuntime", hooks?.createRuntime, state: state)
    try runHooks("createContainer", hooks?.createContainer, state: state, namespacesOf: initProcess.pid)
    try initProcess.proceed()
  }

  /// uid_map and gid_map of a new user namespace: as root we may map any range, and the init waits for
  /// CONTINUE until both are written.
  private func writeIDMaps(pid: Int32, _ plan: InitPlan) throws {
    func text(_ mappings: [Spec.IDMapping]) -> String {
      mappings.map { "\($0.containerID) \($0.hostID) \($0.size)\n" }.joined()
    }
    try Files.writeText("/proc/\(pid)/uid_map", text(plan.uidMappings))
    try Files.writeText("/proc/\(pid)/gid_map", text(plan.gidMappings))
  }
}
