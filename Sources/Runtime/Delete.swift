import Cgroups
import Glibc
import LinuxSystem

extension Runtime {
  /// `delete`: removes a stopped (or, with `force`, any) container: its processes, cgroup and state.
  /// A created container is deleted without force, as runc does: it never ran.
  public func delete(id: String, force: Bool) throws {
    let lock = try store.lock(id, exclusive: true)
    defer { lock.release() }
    let state: ContainerState
    do {
      state = try store.load(id)
    } catch {
      // A directory without state.json is what a create killed mid-way leaves: at most a cgroup (whose
      // processes die with it) and a lazy root.
      if let record = try? Files.read(store.cgroupRecord(id)) {
        let fields = String(decoding: record, as: UTF8.self).split(separator: " ", maxSplits: 1).map(String.init)
        if fields.count == 2, let version = CgroupVersion(rawValue: fields[0]) {
          try empty(Cgroups.open(path: fields[1], version: version), id: id)
        }
      }
      try removeDirectory(id, lazyRoot: true)
      return
    }
    let status = status(of: state)
    if status == .running && !force {
      throw RuntimeError("cannot delete container \"\(id)\" that is not stopped: running")
    }
    try destroy(state)
  }

  /// Kills whatever is left of the container, waits for it to go, removes the cgroup and the state.
  func destroy(_ state: ContainerState) throws {
    let cgroup = state.cgroupPath.map { Cgroups.open(path: $0, version: state.cgroupVersion) }
    if ProcessStatus.of(pid: state.pid, startTime: state.startTime) == .alive {
      try signalInit(state, SIGKILL)
    }
    // Without its own pid namespace, the init's death does not take its descendants along.
    var waited = 0
    while true {
      let initAlive = ProcessStatus.of(pid: state.pid, startTime: state.startTime) == .alive
      let others = cgroup?.processes() ?? []
      if !initAlive && others.isEmpty { break }
      for pid in others { Glibc.kill(pid, SIGKILL) }
      guard waited < 10_000 else { throw RuntimeError("container \"\(state.id)\" did not die within 10 s") }
      usleep(1000)
      waited += 1
    }
    try cgroup?.destroy()
    try removeDirectory(state.id, lazyRoot: state.lazyImage != nil)
    var stopped = ociState(state)
    (stopped.status, stopped.pid) = (.stopped, 0)
    runHooksWarning("poststop", state.hooks?.poststop, state: stopped)
  }

  /// Kills every process in `cgroup`, waits for them to go, and removes it.
  private func empty(_ cgroup: any Cgroup, id: String) throws {
    var waited = 0
    while case let pids = cgroup.processes(), !pids.isEmpty {
      for pid in pids { Glibc.kill(pid, SIGKILL) }
      guard waited < 10_000 else { throw RuntimeError("container \"\(id)\" did not die within 10 s") }
      usleep(1000)
      waited += 1
    }
    try cgroup.destroy()
  }

  /// Removes a container's state directory, after unmounting its lazy root when it may have one. A
  /// mount that will not go leaves the directory in place: removing files through it would reach the
  /// overlay's upper layer, or fail on the image.
  func removeDirectory(_ id: String, lazyRoot: Bool) throws {
    if lazyRoot { try LazyRoot.unmount(in: store.directory(id), id: id, images: store.images) }
    store.remove(id)
  }
}
