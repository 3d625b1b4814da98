import Cgroups
import Glibc
import LinuxSystem
import Logging
import OCISpec
import Seccomp

/// The container lifecycle over one state directory (`--root`). Each verb is in its own file.
public struct Runtime: Sendable {
  public let store: StateStore
  private let logHandler: @Sendable (String) -> any LogHandler

  /// The runtime over the state directory `root`. `logHandler` makes the handler of its logger (a failed
  /// poststart or poststop hook is its only message; the executable passes one that writes `--log` in
  /// `--log-format`); the logger is made only when something is logged. Not swift-log's
  /// LoggingSystem.bootstrap: setting that up cost every command ~0.1 ms of start-up, and few ever log.
  public init(
    root: String = "/run/crun-fast",
    logHandler: @escaping @Sendable (String) -> any LogHandler = StreamLogHandler.standardError
  ) {
    store = StateStore(root: root)
    self.logHandler = logHandler
  }

  var logger: Logger { Logger(label: "crun-fast", factory: logHandler) }

  /// The status of `state`'s container, from its init process: gone or a zombie (waiting for a slow
  /// reaper) is stopped; alive with the exec fifo still present is created; alive otherwise is running.
  public func status(of state: ContainerState) -> ContainerStatus {
    switch ProcessStatus.of(pid: state.pid, startTime: state.startTime) {
    case .gone, .zombie: .stopped
    case .alive: Files.exists(store.fifo(state.id)) ? .created : .running
    }
  }

  public func ociState(_ state: ContainerState) -> OCIState {
    let status = status(of: state)
    return OCIState(
      ociVersion: state.ociVersion, id: state.id, pid: status == .stopped ? 0 : state.pid, status: status,
      bundle: state.bundle, rootfs: state.rootfs, created: state.created, owner: "", annotations: state.annotations)
  }

  /// A container's configuration, checked and turned into an init plan, with its cgroup chosen but not
  /// yet created: everything that bad input can make fail, done before the host is touched. A lazyfs
  /// root has no files to plan against yet: its plan is made once `launch` has mounted it.
  struct Prepared {
    var bundle: Bundle
    var plan: InitPlan?
    var cgroup: any Cgroup
    var cgroupVersion: CgroupVersion
    var cgroupDirectories: [String: String]
    var resources: CgroupResources
  }

  func prepare(id: String, bundle path: String) throws -> Prepared {
    try ContainerID.validate(id)
    let bundle = try Bundle.load(path)
    Timeline.mark("config")
    let version = Cgroups.detectVersion()
    let cgroupPath = try bundle.spec.linux?.cgroupsPath.map(Cgroups.normalize) ?? "crun-fast/\(id)"
    let cgroup = Cgroups.open(path: cgroupPath, version: version)
    var directories: [String: String] = [:]
    if let v1 = cgroup as? CgroupV1 {
      for (controller, mountPoint) in v1.hierarchies {
        directories[String(mountPoint.split(separator: "/").last ?? Substring(controller))] =
          "\(mountPoint)/\(cgroupPath)"
      }
    } else {
      directories[""] = cgroup.directories[0]
    }
    let mountPlan = MountPlan(spec: bundle.spec, rootfs: bundle.rootfs, bundle: bundle.path)
    let resources = CgroupResources(bundle.spec.linux?.resources, devices: mountPlan.devices)
    var prepared = Prepared(
      bundle: bundle, plan: nil, cgroup: cgroup, cgroupVersion: version, cgroupDirectories: directories,
      resources: resources)
    if bundle.lazyRoot == nil { prepared.plan = try plan(prepared) }
    Timeline.mark("plan")
    return prepared
  }

  func plan(_ prepared: Prepared) throws -> InitPlan {
    try InitPlan(
      spec: prepared.bundle.spec, rootfs: prepared.bundle.rootfs, bundle: prepared.bundle.path,
      cgroupDirectories: prepared.cgroupDirectories, seccompCache: SeccompCache(directory: store.seccompCache))
  }
}

extension Files {
  /// Writes `text` to an existing file (a /proc or cgroup control file) in one write.
  static func writeText(_ path: String, _ text: String) throws {
    let fd = try FileDescriptor.open(path, O_WRONLY)
    try fd.write(Array(text.utf8))
  }
}

/// RFC 3339 timestamps in UTC with nanoseconds, as runc writes `created`.
enum Timestamp {
  static func now() -> String {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    var seconds = ts.tv_sec
    var parts = tm()
    gmtime_r(&seconds, &parts)
    func pad(_ v: Int32, _ width: Int) -> String {
      let s = String(v)
      return String(repeating: "0", count: max(0, width - s.count)) + s
    }
    let nanos = String(ts.tv_nsec)
    return "\(parts.tm_year + 1900)-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
      + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2))."
      + String(repeating: "0", count: 9 - nanos.count) + nanos + "Z"
  }
}

/// O_PATH, which Swift's Glibc module does not export (it needs _GNU_SOURCE).
let oPath: Int32 = 0o10_000_000
