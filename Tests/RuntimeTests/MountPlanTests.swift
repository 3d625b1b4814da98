// The container's filesystem set-up as MountPlan orders it, from configurations: no mount is made, the
// steps are compared with what runc does for the same configuration.
import Foundation
import OCISpec
import Runtime
import TestSupport
import Testing

/// MountPlan.steps() from a configuration: the order (propagation, rootfs bind, mounts, devices, pivot,
/// sysctls, read-only and masked paths, read-only root), each mount's flags and data split from its
/// options, bind mounts and their remounts, cgroup mounts, and the configurations refused before any
/// step runs. The kernel's side of these steps is what the root tests show.
@Suite("MountPlan steps (no root)")
struct MountPlanTests {
  typealias F = MountFlag
  let r = PlanFixtures.rootfs

  /// `crun-fast spec`'s configuration, every step written out.
  @Test func defaultConfigurationGivesRuncsSteps() throws {
    let steps = try PlanFixtures.steps(PlanFixtures.defaultSpec())
    let cgroupFlags = F.noSuid | F.noExec | F.noDev
    var expected: [PlanStep] = [
      Steps.mount(nil, "/", nil, F.slave | F.recursive),
      Steps.mount(r, r, nil, F.bind | F.recursive),
      Steps.mkdir("\(r)/proc"), Steps.mount("proc", "\(r)/proc", "proc", 0),
      Steps.mkdir("\(r)/dev"),
      Steps.mount("tmpfs", "\(r)/dev", "tmpfs", F.noSuid | F.strictAtime, "mode=755,size=65536k"),
      Steps.mkdir("\(r)/dev/pts"),
      Steps.mount(
        "devpts", "\(r)/dev/pts", "devpts", F.noSuid | F.noExec, "newinstance,ptmxmode=0666,mode=0620,gid=5"),
      Steps.mkdir("\(r)/dev/shm"),
      Steps.mount("shm", "\(r)/dev/shm", "tmpfs", F.noSuid | F.noExec | F.noDev, "mode=1777,size=65536k"),
      Steps.mkdir("\(r)/dev/mqueue"), Steps.mount("mqueue", "\(r)/dev/mqueue", "mqueue", F.noSuid | F.noExec | F.noDev),
      Steps.mkdir("\(r)/sys"), Steps.mount("sysfs", "\(r)/sys", "sysfs", F.noSuid | F.noExec | F.noDev | F.readOnly),
      // No cgroup directories known: an empty read-only tmpfs, as runc mounts for v1.
      Steps.mkdir("\(r)/sys/fs/cgroup"), Steps.mount("tmpfs", "\(r)/sys/fs/cgroup", "tmpfs", cgroupFlags, "mode=755"),
      Steps.remount("\(r)/sys/fs/cgroup", cgroupFlags | F.readOnly),
    ]
    for (name, minor) in [("null", 3), ("zero", 5), ("full", 7), ("random", 8), ("urandom", 9)] {
      expected += [Steps.mkdir("\(r)/dev"), Steps.mknod("\(r)/dev/\(name)", Steps.charDevice, 0o666, 1, UInt32(minor))]
    }
    expected += [Steps.mkdir("\(r)/dev"), Steps.mknod("\(r)/dev/tty", Steps.charDevice, 0o666, 5, 0)]
    expected += [
      Steps.symlink("/proc/self/fd", "\(r)/dev/fd"), Steps.symlink("/proc/self/fd/0", "\(r)/dev/stdin"),
      Steps.symlink("/proc/self/fd/1", "\(r)/dev/stdout"), Steps.symlink("/proc/self/fd/2", "\(r)/dev/stderr"),
      Steps.symlink("pts/ptmx", "\(r)/dev/ptmx"), PlanStep(.pivotRoot, r),
    ]
    expected += ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"].map {
      Steps.optional(.readonly, $0)
    }
    expected += [
      "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
      "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi",
    ].map { Steps.optional(.mask, $0) }
    expected.append(Steps.remount("/", F.readOnly))
    #expect(steps.count == expected.count)
    for (index, (got, want)) in zip(steps, expected).enumerated() {
      #expect(got == want, "step \(index): \(got) instead of \(want)")
    }
  }

  /// Without a mount namespace there is nothing to mount into: a chroot, and mounts are refused.
  @Test func noMountNamespaceMeansChroot() throws {
    let spec = try PlanFixtures.minimal(linux: #""namespaces": [{"type": "pid"}]"#)
    #expect(try PlanFixtures.steps(spec) == [PlanStep(.chroot, r)])
    var withMounts = spec
    withMounts.mounts = [Spec.Mount(destination: "/tmp", type: "tmpfs", source: "tmpfs")]
    let error = #expect(throws: SpecError.self) { try PlanFixtures.steps(withMounts) }
    #expect(error?.field == "mounts")
  }

  /// A bind mount takes only bind and rec at first; its other flags need a remount. The target is a
  /// directory or a file after the source, and a relative source is the bundle's.
  @Test func bindMountsWithOptions() throws {
    let dir = try TempDir("plan-bind")
    defer { dir.remove() }
    let data = try dir.directory("data")
    #expect(FileManager.default.createFile(atPath: dir.sub("hosts"), contents: Data("x".utf8)))
    var spec = try PlanFixtures.minimal()
    spec.mounts = [
      Spec.Mount(destination: "/data", type: "bind", source: data, options: ["rbind", "ro", "nosuid", "nodev"]),
      Spec.Mount(destination: "/etc/hosts", source: "hosts", options: ["bind"]),
      Spec.Mount(destination: "/rw", type: "bind", source: data, options: ["bind", "ro", "rw"]),
    ]
    var plan = MountPlan(spec: spec, rootfs: r, bundle: dir.path)
    let steps = try plan.steps()
    let mounts = Array(steps[2..<9])
    #expect(
      mounts == [
        Steps.mkdir("\(r)/data"), Steps.mount(data, "\(r)/data", nil, F.bind | F.recursive),
        Steps.remount("\(r)/data", F.readOnly | F.noSuid | F.noDev),
        // Without a type, "bind" in the options makes it one; the source is a file.
        Steps.mkfile("\(r)/etc/hosts"), Steps.mount(dir.sub("hosts"), "\(r)/etc/hosts", nil, F.bind),
        // "rw" after "ro" clears it: nothing left to remount.
        Steps.mkdir("\(r)/rw"), Steps.mount(data, "\(r)/rw", nil, F.bind),
      ], "\(mounts)")
    plan.rootfs = r + "2"
    #expect(try plan.steps()[3].target == "\(r)2/data", "targets follow the rootfs")
  }

  @Test(
    arguments: [
      (Spec.Mount(destination: "/x", type: "bind", options: ["rbind"]), "mounts[1].source", "needs a source"),
      (
        Spec.Mount(destination: "/x", type: "bind", source: "", options: ["rbind"]), "mounts[1].source",
        "needs a source"
      ),
      (
        Spec.Mount(destination: "/x", source: "/nonexistent/src", options: ["bind"]), "mounts[1].source",
        "/nonexistent/src"
      ),
      (
        Spec.Mount(destination: "/x", type: "bind", source: "missing"), "mounts[1].source",
        "/nonexistent/plan-tests/missing"
      ),
      (Spec.Mount(destination: "/x", source: "tmpfs", options: ["nosuid"]), "mounts[1].type", "required"),
    ])
  func badMountsAreRefusedNamingTheField(mount: Spec.Mount, field: String, reason: String) throws {
    var spec = try PlanFixtures.minimal()
    spec.mounts = [Spec.Mount(destination: "/tmp", type: "tmpfs", source: "tmpfs"), mount]
    let error = #expect(throws: SpecError.self) { try PlanFixtures.steps(spec) }
    #expect(error?.field == field)
    #expect(error?.description.contains(reason) == true, "\(String(describing: error))")
  }

  /// A mount's propagation option is its own mount call after the mount; rootfsPropagation applies to
  /// the new root after pivot_root.
  @Test func propagation() throws {
    var spec = try PlanFixtures.minimal(linux: #""namespaces": [{"type": "mount"}], "rootfsPropagation": "rshared""#)
    spec.mounts = [Spec.Mount(destination: "/shm", type: "tmpfs", source: "shm", options: ["rprivate", "size=1m"])]
    let steps = try PlanFixtures.steps(spec)
    #expect(
      Array(steps[2..<5]) == [
        Steps.mkdir("\(r)/shm"), Steps.mount("shm", "\(r)/shm", "tmpfs", 0, "size=1m"),
        Steps.mount(nil, "\(r)/shm", nil, F.private | F.recursive),
      ])
    let pivot = try #require(steps.firstIndex { $0.kind == .pivotRoot })
    #expect(steps[pivot + 1] == Steps.mount(nil, "/", nil, F.shared | F.recursive))
  }

  /// sysctls are writes under /proc/sys after pivot_root, in key order, dots as slashes.
  @Test func sysctlsBecomeWrites() throws {
    let spec = try PlanFixtures.minimal(
      linux: #""namespaces": [{"type": "mount"}], "sysctl": {"net.ipv4.ip_forward": "1", "kernel.msgmax": "8192"}"#)
    let steps = try PlanFixtures.steps(spec)
    let pivot = try #require(steps.firstIndex { $0.kind == .pivotRoot })
    let writes = steps.filter { $0.kind == .write }
    #expect(writes.map(\.target) == ["/proc/sys/kernel/msgmax", "/proc/sys/net/ipv4/ip_forward"])
    #expect(writes.map(\.data) == ["8192", "1"])
    #expect(steps.firstIndex { $0.kind == .write }! > pivot)
  }

  /// A writable root gets no final remount; read-only and masked paths stay on container paths.
  @Test func readonlyAndMaskedPathsAndWritableRoot() throws {
    let spec = try PlanFixtures.minimal(
      linux: #""namespaces": [{"type": "mount"}], "readonlyPaths": ["/proc/sys"], "maskedPaths": ["/proc/kcore"]"#)
    let steps = try PlanFixtures.steps(spec)
    #expect(steps.suffix(2) == [Steps.optional(.readonly, "/proc/sys"), Steps.optional(.mask, "/proc/kcore")])
    #expect(!steps.contains { $0.kind == .bindRemount && $0.target == "/" })
  }

  /// Mount targets are resolved inside the rootfs: a rootfs whose /proc is a link to /etc gets proc
  /// mounted on its own etc, never the host's.
  @Test func targetsFollowLinksOnlyInsideTheRootfs() throws {
    let dir = try TempDir("plan-securejoin")
    defer { dir.remove() }
    try FileManager.default.createDirectory(atPath: dir.sub("etc"), withIntermediateDirectories: true)
    try FileManager.default.createSymbolicLink(atPath: dir.sub("proc"), withDestinationPath: "/etc")
    try FileManager.default.createSymbolicLink(atPath: dir.sub("dev"), withDestinationPath: "../../..")
    let steps = try PlanFixtures.steps(PlanFixtures.defaultSpec(), rootfs: dir.path)
    #expect(steps.contains(Steps.mount("proc", dir.sub("etc"), "proc", 0)))
    #expect(steps.contains { $0.kind == .mknod && $0.target == dir.sub("null") }, "dev -> ../../.. stays in the root")
    // Before pivot_root every target is a host path, and every one of them is inside the rootfs.
    let pivot = try #require(steps.firstIndex { $0.kind == .pivotRoot })
    for step in steps[1..<pivot] { #expect(step.target.hasPrefix(dir.path), "\(step)") }
  }

  /// The default configuration's cgroup mount, for each way the container's cgroup can be shown.
  @Test func cgroupMounts() throws {
    let spec = try PlanFixtures.defaultSpec()
    let target = "\(r)/sys/fs/cgroup"
    let ro = F.noSuid | F.noExec | F.noDev | F.relAtime | F.readOnly
    func cgroupSteps(_ spec: Spec, _ directories: [String: String]) throws -> [PlanStep] {
      try PlanFixtures.steps(spec, cgroups: directories).filter { $0.target.hasPrefix(target) }
    }
    // v1: a tmpfs with each controller's own directory bound in, read-only, then the tmpfs made read-only.
    let v1 = try cgroupSteps(spec, ["memory": "/sys/fs/cgroup/memory/box", "cpu": "/sys/fs/cgroup/cpu/box"])
    let tmpfs = F.noSuid | F.noDev | F.noExec
    #expect(
      v1 == [
        Steps.mkdir(target), Steps.mount("tmpfs", target, "tmpfs", tmpfs, "mode=755"),
        Steps.mkdir("\(target)/cpu"), Steps.mount("/sys/fs/cgroup/cpu/box", "\(target)/cpu", nil, F.bind | F.recursive),
        Steps.remount("\(target)/cpu", ro),
        Steps.mkdir("\(target)/memory"),
        Steps.mount("/sys/fs/cgroup/memory/box", "\(target)/memory", nil, F.bind | F.recursive),
        Steps.remount("\(target)/memory", ro), Steps.remount(target, tmpfs | F.readOnly),
      ])
    // v2 without a cgroup namespace: the container's directory bound at the mount point.
    let v2 = try cgroupSteps(spec, ["": "/sys/fs/cgroup/box"])
    #expect(
      v2 == [
        Steps.mkdir(target), Steps.mount("/sys/fs/cgroup/box", target, nil, F.bind | F.recursive),
        Steps.remount(target, ro),
      ])
    // v2 in a cgroup namespace: a fresh cgroup2 mount, which shows the namespace's root.
    var namespaced = spec
    namespaced.linux?.namespaces?.append(Spec.Namespace(type: "cgroup"))
    #expect(
      try cgroupSteps(namespaced, ["": "/sys/fs/cgroup/box"]) == [
        Steps.mkdir(target), Steps.mount("cgroup2", target, "cgroup2", ro),
      ])
  }
}

/// Mount options split the way runc splits them: flags set and cleared in order, propagation apart,
/// everything else the filesystem's data.
@Suite("Mount options (no root)")
struct MountOptionsTests {
  typealias F = MountFlag

  @Test(
    arguments: [
      (["ro", "nosuid", "nodev", "noexec"], F.readOnly | F.noSuid | F.noDev | F.noExec, 0, []),
      (["ro", "rw"], 0, 0, []),
      (["rw", "ro"], F.readOnly, 0, []),
      (["rbind", "rslave"], F.bind | F.recursive, F.slave | F.recursive, []),
      (["bind", "shared", "private"], F.bind, F.private, []),
      (["noatime", "atime", "relatime", "strictatime", "nostrictatime"], F.relAtime, 0, []),
      (["mode=755", "size=65536k", "nosuid"], F.noSuid, 0, ["mode=755", "size=65536k"]),
      (["nosymfollow", "sync", "dirsync", "lazytime"], F.noSymfollow | F.synchronous | F.dirSync | F.lazyTime, 0, []),
    ] as [([String], UInt, UInt, [String])])
  func optionsSplit(options: [String], flags: UInt, propagation: UInt, data: [String]) {
    let parsed = MountOptions(options)
    #expect(parsed.flags == flags, "\(options)")
    #expect(parsed.propagation == propagation, "\(options)")
    #expect(parsed.data == data)
    #expect(parsed.isBind == options.contains { $0 == "bind" || $0 == "rbind" })
  }

  @Test func rootfsPropagationNames() {
    #expect(MountOptions.propagation("rslave") == F.slave | F.recursive)
    #expect(MountOptions.propagation("unbindable") == F.unbindable)
    #expect(MountOptions.propagation("slavish") == nil)
  }
}
