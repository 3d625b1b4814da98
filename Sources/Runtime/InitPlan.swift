import Capabilities
import LinuxSystem
import OCISpec
import Seccomp

/// Everything the container's init needs, worked out from the configuration before clone: namespaces,
/// the filesystem steps, limits, identity, capability masks, the compiled seccomp program and the
/// command. Building it is where bad input is found, before anything is created on the host.
public struct InitPlan: Sendable {
  public var cloneFlags: UInt64 = 0
  public var unshareCgroup = false
  /// Namespaces to enter by path, the user namespace first (it decides the rights to enter the others).
  public var joins: [Join] = []
  public var pidJoin: String?
  public var hostname: String?
  public var domainname: String?
  public var steps: [PlanStep] = []
  public var rlimits: [Rlimit] = []
  public var userNamespace = false
  public var uidMappings: [Spec.IDMapping] = []
  public var gidMappings: [Spec.IDMapping] = []
  public var uid: UInt32 = 0
  public var gid: UInt32 = 0
  public var groups: [UInt32] = []
  public var capabilities: CapabilitySets?
  public var noNewPrivileges = false
  public var seccomp: [UInt8]?
  public var seccompFlags: UInt32 = 0
  public var umask: UInt32 = 0o022
  public var cwd = "/"
  public var args: [String] = []
  public var env: [String] = []
  public var oomScoreAdj: Int?
  /// The file to execute when it is not found by searching argv[0] (a hook's path).
  public var executable: String?
  /// Exec once set up, without waiting for start: a process joining a running container, or a hook.
  public var execNow = false
  /// Run by the init after start released it, just before execve.
  public var startHooks: [Spec.Hook] = []
  /// A pty as stdio and controlling terminal (`process.terminal`); the master goes to the parent.
  public var console = false
  /// Whether the pty's slave is also bound over /dev/console (the container's init, not an exec).
  public var consoleMount = false
  public var consoleSize: (rows: UInt16, columns: UInt16)?

  public struct Join: Sendable, Equatable {
    public var path: String
    public var type: Int32
  }

  public struct Rlimit: Sendable, Equatable {
    public var resource: Int32
    public var soft: UInt64
    public var hard: UInt64
  }

  public init() {}

  /// Builds the plan for a validated `spec`. Throws SpecError, CapabilityError or SeccompError, each
  /// naming the field at fault.
  public init(
    spec: Spec, rootfs: String, bundle: String, cgroupDirectories: [String: String], seccompCache: SeccompCache?
  ) throws {
    guard let process = spec.process else { throw SpecError(field: "process", "required field is missing") }
    for namespace in spec.linux?.namespaces ?? [] {
      let flag = Int32(Spec.namespaceFlags[namespace.type] ?? 0)
      if let path = namespace.path {
        if namespace.type == "pid" {
          pidJoin = path
        } else if namespace.type == "user" {
          joins.insert(Join(path: path, type: flag), at: 0)
        } else {
          joins.append(Join(path: path, type: flag))
        }
      } else if namespace.type == "cgroup" {
        // Unshared only after the parent has moved the init into its cgroup, so that cgroup is the root.
        unshareCgroup = true
      } else {
        cloneFlags |= UInt64(UInt32(bitPattern: flag))
      }
    }
    userNamespace = (spec.linux?.namespaces ?? []).contains { $0.type == "user" && $0.path == nil }
    uidMappings = spec.linux?.uidMappings ?? []
    gidMappings = spec.linux?.gidMappings ?? []
    hostname = spec.hostname
    domainname = spec.domainname

    var mountPlan = MountPlan(spec: spec, rootfs: rootfs, bundle: bundle)
    mountPlan.cgroupDirectories = cgroupDirectories
    steps = try mountPlan.steps()
    // The create-time hooks run once the mounts are made and before the root changes, as runc runs them.
    if spec.hooks?.runBeforePivot == true,
      let pivot = steps.firstIndex(where: { $0.kind == .pivotRoot || $0.kind == .chroot })
    {
      steps.insert(PlanStep(.hooks, ""), at: pivot)
    }
    startHooks = spec.hooks?.startContainer ?? []

    try setProcess(process, seccomp: spec.linux?.seccomp, rootfs: rootfs, seccompCache: seccompCache)
    consoleMount = console
  }

  /// The process part of the plan: identity, capabilities, no_new_privs, seccomp, limits, working
  /// directory, command and environment (HOME from the container's /etc/passwd when not given), terminal.
  /// Shared by the container's init and `exec`.
  public mutating func setProcess(
    _ process: Spec.Process, seccomp profile: Spec.Seccomp?, rootfs: String, seccompCache: SeccompCache?
  ) throws {
    rlimits = (process.rlimits ?? []).map { Rlimit(resource: $0.resource ?? -1, soft: $0.soft, hard: $0.hard) }
    uid = process.user.uid
    gid = process.user.gid
    groups = process.user.additionalGids ?? []
    umask = process.user.umask ?? 0o022
    if let caps = process.capabilities {
      capabilities = try CapabilitySets(
        effective: caps.effective ?? [], permitted: caps.permitted ?? [], inheritable: caps.inheritable ?? [],
        bounding: caps.bounding ?? [], ambient: caps.ambient ?? [])
    }
    noNewPrivileges = process.noNewPrivileges ?? false
    if let profile {
      seccompFlags = try SeccompCompiler.flags(profile)
      seccomp =
        try seccompCache.map { cache throws(SeccompError) in try cache.program(for: profile) }
        ?? SeccompCompiler.compile(profile)
    }
    cwd = process.cwd
    args = process.args ?? []
    env = process.env ?? []
    if !env.contains(where: { $0.hasPrefix("HOME=") }) {
      env.append("HOME=" + Self.home(of: process.user.uid, rootfs: rootfs))
    }
    oomScoreAdj = process.oomScoreAdj
    console = process.terminal == true
    consoleSize = process.consoleSize.map { (UInt16(clamping: $0.height), UInt16(clamping: $0.width)) }
  }

  /// The user's home directory from the container's /etc/passwd, "/" when it has none: runc sets HOME
  /// this way when the configuration does not.
  static func home(of uid: UInt32, rootfs: String) -> String {
    let passwd = SecureJoin.resolve(root: rootfs, "/etc/passwd")
    guard let bytes = try? Files.read(passwd) else { return "/" }
    for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
      let fields = line.split(separator: ":", omittingEmptySubsequences: false)
      if fields.count >= 6, UInt32(fields[2]) == uid, !fields[5].isEmpty { return String(fields[5]) }
    }
    return "/"
  }

  /// The value of PATH in the container's environment, searched for a bare program name.
  public var pathVariable: String? {
    env.last { $0.hasPrefix("PATH=") }.map { String($0.dropFirst(5)) }
  }
}
