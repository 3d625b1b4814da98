// What the container's init is told to do, from configurations: InitPlan is built before clone and holds
// only values, so each field can be checked here without starting anything.
import Capabilities
import Foundation
import OCISpec
import Runtime
import Seccomp
import TestSupport
import Testing

/// InitPlan from a configuration: namespaces to create and to join, identity, limits, capabilities,
/// no_new_privs, seccomp, the command and its environment, the terminal, and where hooks stop the init.
/// A wrong field here is a container with the wrong rights, which the root tests would only show one
/// field at a time.
@Suite("InitPlan from a configuration (no root)")
struct InitPlanTests {
  func makePlan(_ spec: Spec, rootfs: String = PlanFixtures.rootfs, cache: SeccompCache? = nil) throws -> InitPlan {
    try InitPlan(
      spec: spec, rootfs: rootfs, bundle: PlanFixtures.bundle, cgroupDirectories: [:], seccompCache: cache)
  }

  static let flags = Spec.namespaceFlags.mapValues { UInt64(UInt32(bitPattern: $0)) }

  /// New namespaces are clone flags; those given by path are joined, the user namespace first; cgroup is
  /// unshared later, once the init is in its cgroup.
  @Test func namespacesToCreateAndToJoin() throws {
    let spec = try PlanFixtures.minimal(
      linux: #"""
        "namespaces": [{"type": "pid"}, {"type": "network", "path": "/proc/1/ns/net"}, {"type": "mount"},
          {"type": "uts"}, {"type": "ipc", "path": "/proc/1/ns/ipc"}, {"type": "user", "path": "/proc/1/ns/user"},
          {"type": "cgroup"}]
        """#)
    let plan = try makePlan(spec)
    let f = Self.flags
    #expect(plan.cloneFlags == f["pid"]! | f["mount"]! | f["uts"]!)
    #expect(plan.joins.map(\.path) == ["/proc/1/ns/user", "/proc/1/ns/net", "/proc/1/ns/ipc"])
    #expect(plan.joins.map(\.type) == [0x1000_0000, 0x4000_0000, 0x0800_0000])
    #expect(plan.unshareCgroup)
    #expect(plan.pidJoin == nil)
    #expect(!plan.userNamespace, "a joined user namespace is not a new one")
  }

  @Test func newUserNamespaceWithMappingsAndJoinedPidNamespace() throws {
    let spec = try PlanFixtures.minimal(
      linux: #"""
        "namespaces": [{"type": "user"}, {"type": "pid", "path": "/proc/42/ns/pid"}, {"type": "time"}],
        "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
        "gidMappings": [{"containerID": 0, "hostID": 200000, "size": 1}]
        """#)
    let plan = try makePlan(spec)
    #expect(plan.cloneFlags == Self.flags["user"]! | 0x80)
    #expect(plan.pidJoin == "/proc/42/ns/pid")
    #expect(plan.joins.isEmpty && !plan.unshareCgroup)
    #expect(plan.userNamespace)
    #expect(plan.uidMappings == [Spec.IDMapping(containerID: 0, hostID: 100_000, size: 65536)])
    #expect(plan.gidMappings == [Spec.IDMapping(containerID: 0, hostID: 200_000, size: 1)])
    #expect(plan.steps == [PlanStep(.chroot, PlanFixtures.rootfs)], "no mount namespace")
  }

  /// `crun-fast spec`'s process, field by field.
  @Test func defaultProcess() throws {
    let plan = try makePlan(PlanFixtures.defaultSpec())
    #expect((plan.uid, plan.gid, plan.groups, plan.umask) == (0, 0, [], 0o022))
    #expect(plan.rlimits.map { [Int64($0.resource), Int64($0.soft), Int64($0.hard)] } == [[7, 1024, 1024]])
    let caps = try #require(plan.capabilities)
    let three: UInt64 = 1 << 29 | 1 << 5 | 1 << 10  // AUDIT_WRITE, KILL, NET_BIND_SERVICE
    #expect([caps.effective, caps.permitted, caps.bounding, caps.ambient] == [three, three, three, three])
    #expect(caps.inheritable == 0)
    #expect(plan.noNewPrivileges)
    #expect(plan.args == ["sh"] && plan.cwd == "/")
    // No /etc/passwd in the rootfs: HOME is "/", added after the configured variables.
    #expect(
      plan.env == ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm", "HOME=/"])
    #expect(plan.pathVariable == "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
    #expect(plan.hostname == "crun-fast" && plan.domainname == nil)
    #expect(plan.oomScoreAdj == nil && plan.seccomp == nil && plan.seccompFlags == 0)
    #expect(!plan.console && !plan.consoleMount && plan.consoleSize == nil)
    #expect(plan.steps.contains { $0.kind == .pivotRoot } && !plan.steps.contains { $0.kind == .hooks })
  }

  @Test func identityLimitsAndTerminal() throws {
    var spec = try PlanFixtures.defaultSpec()
    spec.process?.user = Spec.User(uid: 1000, gid: 100, umask: 0o077, additionalGids: [10, 4_294_967_295])
    spec.process?.rlimits = [
      Spec.Rlimit(type: "RLIMIT_NOFILE", hard: 4096, soft: 1024), Spec.Rlimit(type: "RLIMIT_CORE", hard: 0, soft: 0),
      Spec.Rlimit(type: "RLIMIT_AS", hard: .max, soft: .max),
    ]
    spec.process?.noNewPrivileges = false
    spec.process?.oomScoreAdj = -500
    spec.process?.terminal = true
    spec.process?.consoleSize = Spec.ConsoleSize(height: 24, width: 100_000)
    spec.process?.env = ["PATH=/bin", "HOME=/work", "PATH=/usr/bin"]
    spec.process?.cwd = "/work"
    spec.process?.args = ["/bin/sh", "-c", "echo hi"]
    spec.process?.capabilities = nil
    spec.domainname = "example.org"
    let plan = try makePlan(spec)
    #expect((plan.uid, plan.gid, plan.groups, plan.umask) == (1000, 100, [10, 4_294_967_295], 0o077))
    #expect(plan.rlimits.map(\.resource) == [7, 4, 9])
    #expect(plan.rlimits.map(\.soft) == [1024, 0, .max])
    #expect(plan.rlimits.map(\.hard) == [4096, 0, .max])
    #expect(!plan.noNewPrivileges)
    #expect(plan.oomScoreAdj == -500)
    #expect(plan.capabilities == nil, "no capabilities section: the init leaves the sets alone")
    #expect(plan.console && plan.consoleMount)
    // rows from height, columns from width, clamped to the 16 bits of a winsize.
    #expect(plan.consoleSize?.rows == 24 && plan.consoleSize?.columns == 65535)
    #expect(plan.env == ["PATH=/bin", "HOME=/work", "PATH=/usr/bin"], "a configured HOME is kept, none added")
    #expect(plan.pathVariable == "/usr/bin", "the last PATH wins, as in execvpe")
    #expect(plan.cwd == "/work" && plan.args == ["/bin/sh", "-c", "echo hi"])
    #expect(plan.domainname == "example.org")
  }

  /// HOME, when not configured, is the user's home in the container's /etc/passwd, "/" without one.
  @Test(arguments: [(UInt32(0), "/root"), (1000, "/home/user"), (1001, "/"), (1002, "/"), (4242, "/")])
  func homeFromTheContainersPasswd(uid: UInt32, home: String) throws {
    let dir = try TempDir("plan-passwd")
    defer { dir.remove() }
    try FileManager.default.createDirectory(atPath: dir.sub("etc"), withIntermediateDirectories: true)
    let passwd = """
      root:x:0:0:root:/root:/bin/sh
      user:x:1000:1000::/home/user:/bin/sh
      nohome:x:1001:1001:::/bin/sh
      short:x:1002
      """
    try passwd.write(toFile: dir.sub("etc/passwd"), atomically: false, encoding: .utf8)
    var spec = try PlanFixtures.defaultSpec()
    spec.process?.user = Spec.User(uid: uid, gid: 0)
    #expect(try makePlan(spec, rootfs: dir.path).env.last == "HOME=\(home)")
  }

  /// A capability name libcap does not know stops the plan, naming the set.
  @Test func unknownCapabilityIsRefused() throws {
    var spec = try PlanFixtures.defaultSpec()
    spec.process?.capabilities?.permitted?.append("CAP_TIME_TRAVEL")
    let error = #expect(throws: CapabilityError.self) { try makePlan(spec) }
    #expect(error?.set == "permitted" && error?.name == "CAP_TIME_TRAVEL")
  }

  @Test func missingProcessIsRefused() throws {
    var spec = try PlanFixtures.defaultSpec()
    spec.process = nil
    let error = #expect(throws: SpecError.self) { try makePlan(spec) }
    #expect(error?.field == "process")
  }

  /// Create-time hooks stop the init just before the root changes; startContainer hooks run before execve.
  @Test(arguments: [true, false])
  func hooksStopTheInitBeforePivot(mountNamespace: Bool) throws {
    var spec = try PlanFixtures.defaultSpec()
    if !mountNamespace {
      spec.mounts = nil
      spec.linux?.namespaces?.removeAll { $0.type == "mount" }
    }
    let start = Spec.Hook(path: "/bin/start", args: ["start"])
    spec.hooks = Spec.Hooks(createContainer: [Spec.Hook(path: "/bin/create")], startContainer: [start])
    let plan = try makePlan(spec)
    let hooks = try #require(plan.steps.firstIndex { $0.kind == .hooks })
    #expect(plan.steps.filter { $0.kind == .hooks }.count == 1)
    #expect(plan.steps[hooks + 1].kind == (mountNamespace ? .pivotRoot : .chroot))
    #expect(plan.startHooks == [start])
    // Hooks that run after start need no stop.
    spec.hooks = Spec.Hooks(poststart: [Spec.Hook(path: "/bin/post")])
    #expect(try !self.makePlan(spec).steps.contains { $0.kind == .hooks })
  }

  /// The profile is compiled (or taken from the cache) into the plan, with its flags.
  @Test func seccompIsCompiledIntoThePlan() throws {
    var spec = try PlanFixtures.defaultSpec()
    var profile = Spec.Seccomp(
      defaultAction: "SCMP_ACT_ERRNO", syscalls: [Spec.Syscall(names: ["read", "write"], action: "SCMP_ACT_ALLOW")])
    profile.flags = ["SECCOMP_FILTER_FLAG_LOG"]
    spec.linux?.seccomp = profile
    let compiled = try makePlan(spec)
    #expect(compiled.seccomp == (try SeccompCompiler.compile(profile)))
    #expect(compiled.seccompFlags == 2)

    let dir = try TempDir("plan-seccomp")
    defer { dir.remove() }
    let cached = try makePlan(spec, cache: SeccompCache(directory: dir.path))
    #expect(cached.seccomp == compiled.seccomp)
    #expect(FileManager.default.fileExists(atPath: dir.sub(SeccompCache.key(for: profile) + ".bpf")))

    spec.linux?.seccomp?.syscalls?.append(Spec.Syscall(names: ["frobnicate"], action: "SCMP_ACT_ALLOW"))
    let error = #expect(throws: SeccompError.self) { try makePlan(spec) }
    #expect(error?.field == "linux.seccomp.syscalls[1].names")
  }

  /// `exec` builds only the process part, onto an empty plan: no console bind, no namespaces.
  @Test func setProcessAloneForExec() throws {
    var spec = try PlanFixtures.defaultSpec()
    spec.process?.terminal = true
    var plan = InitPlan()
    try plan.setProcess(#require(spec.process), seccomp: nil, rootfs: PlanFixtures.rootfs, seccompCache: nil)
    #expect(plan.console && !plan.consoleMount)
    #expect(plan.cloneFlags == 0 && plan.steps.isEmpty)
    #expect(plan.args == ["sh"] && plan.env.last == "HOME=/")
    #expect(plan.capabilities?.bounding == 1 << 29 | 1 << 5 | 1 << 10)
  }

  /// The mount steps are MountPlan's for the same configuration, with the cgroup directories passed on.
  @Test func mountStepsComeFromMountPlan() throws {
    let spec = try PlanFixtures.defaultSpec()
    let directories = ["": "/sys/fs/cgroup/crun-fast/box"]
    let plan = try InitPlan(
      spec: spec, rootfs: PlanFixtures.rootfs, bundle: PlanFixtures.bundle, cgroupDirectories: directories,
      seccompCache: nil)
    #expect(plan.steps == (try PlanFixtures.steps(spec, cgroups: directories)))
    #expect(plan.steps.contains { $0.source == "/sys/fs/cgroup/crun-fast/box" })
  }
}
