// Resource limits enforced for real on this machine's cgroup v1 controllers, placement, and the v2 code
// against the (controller-less) unified hierarchy.
import Cgroups
import Foundation
import JSON
import LinuxSystem
import OCISpec
import TestSupport
import Testing

@Suite("Cgroups (root, real containers)")
struct CgroupTests {
  @Test func containerIsInItsCgroups() throws {
    let c = try TestContainer("cgplace", args: ["/bin/cat", "/proc/self/cgroup"])
    defer { c.cleanup() }
    c.spec.linux?.namespaces?.removeAll { $0.type == "cgroup" }
    let result = try c.run()
    #expect(result.status == 0, "\(result)")
    let lines = result.stdout.split(separator: "\n")
    for controller in ["memory", "pids", "cpu", "devices"] {
      #expect(
        lines.contains { $0.contains(controller) && $0.hasSuffix("/\(Paths.cgroupParent)/\(c.id)") },
        "\(controller) in \(result.stdout)")
    }
  }

  @Test func cgroupNamespaceHidesTheHostPath() throws {
    let c = try TestContainer("cgns", args: ["/bin/cat", "/proc/self/cgroup"])
    defer { c.cleanup() }
    c.spec.linux?.namespaces?.append(Spec.Namespace(type: "cgroup"))
    let result = try c.run()
    #expect(result.status == 0, "\(result)")
    #expect(result.stdout.contains(":memory:/\n"), "\(result.stdout)")
  }

  @Test func memoryLimitOOMKills() throws {
    let c = try TestContainer("oom", args: ["/bin/hog", "256"])
    defer { c.cleanup() }
    try compileHog(into: c.rootfs + "/bin/hog")
    c.spec.linux?.resources = Spec.Resources(memory: Spec.Memory(limit: 32 << 20, swap: 32 << 20))
    let result = try c.run()
    #expect(result.status == 137, "killed by the OOM killer: \(result)")
    #expect(!result.stdout.contains("allocated all"))

    let small = try TestContainer("nooom", args: ["/bin/hog", "8"])
    defer { small.cleanup() }
    try compileHog(into: small.rootfs + "/bin/hog")
    small.spec.linux?.resources = Spec.Resources(memory: Spec.Memory(limit: 32 << 20, swap: 32 << 20))
    let fine = try small.run()
    #expect(fine.status == 0, "\(fine)")
    #expect(fine.stdout.contains("allocated all"))
  }

  @Test func memoryLimitIsVisibleInTheContainersCgroup() throws {
    let c = try TestContainer("memfile", args: ["/bin/cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes"])
    defer { c.cleanup() }
    c.spec.linux?.resources = Spec.Resources(memory: Spec.Memory(limit: 48 << 20))
    let result = try c.run()
    #expect(result.status == 0, "\(result)")
    #expect(result.stdout == "\(48 << 20)\n")
  }

  @Test func pidsLimitStopsAForkBomb() throws {
    let c = try TestContainer("pids", args: ["/bin/hog", "fork", "30"])
    defer { c.cleanup() }
    try compileHog(into: c.rootfs + "/bin/hog")
    c.spec.linux?.resources = Spec.Resources(pids: Spec.Pids(limit: 10))
    let result = try c.run()
    #expect(result.status == 0, "\(result)")
    // The init itself is one of the ten.
    #expect(result.stdout == "forked 9 of 30\n", "\(result)")
  }

  @Test func cpuLimitsAreWritten() throws {
    let c = try TestContainer(
      "cpu", args: ["/bin/sh", "-c", "cat /sys/fs/cgroup/cpu/cpu.shares /sys/fs/cgroup/cpu/cpu.cfs_quota_us"])
    defer { c.cleanup() }
    c.spec.linux?.resources = Spec.Resources(cpu: Spec.CPU(shares: 512, quota: 50_000, period: 100_000, cpus: "0"))
    let result = try c.run()
    #expect(result.status == 0, "\(result)")
    #expect(result.stdout == "512\n50000\n")
  }

  /// blkio throttles land in the v1 controller's per-device files, for the disk holding "/" (throttles
  /// take whole disks, not partitions); a weight where no scheduler offers one is a clear error.
  @Test(
    .enabled(if: rootDisk() != nil, "a block device under / (throttles take a whole disk)"),
    .enabled(if: hasV1Blkio, "a cgroup v1 blkio hierarchy"))
  func blkioThrottlesAreWrittenOnV1() throws {
    let disk = try #require(Self.rootDisk())
    let cgroup = CgroupV1(path: "\(Paths.cgroupParent)/blkio-\(UUID().uuidString.prefix(8))")
    let blkio = try #require(cgroup.hierarchies["blkio"])
    defer {
      try? cgroup.destroy()
      removeCgroupParents()
    }
    var limits = CgroupResources()
    var io = BlockIO()
    io.throttleReadBps = [.init(major: disk.major, minor: disk.minor, rate: 1 << 20)]
    io.throttleWriteIOPS = [.init(major: disk.major, minor: disk.minor, rate: 100)]
    limits.blockIO = io
    try cgroup.create(for: limits)
    try cgroup.set(limits)
    let directory = "\(blkio)/\(cgroup.path)"
    let read = try String(contentsOfFile: directory + "/blkio.throttle.read_bps_device", encoding: .utf8)
    #expect(read == "\(disk.major):\(disk.minor) 1048576\n")
    let write = try String(contentsOfFile: directory + "/blkio.throttle.write_iops_device", encoding: .utf8)
    #expect(write == "\(disk.major):\(disk.minor) 100\n")
    if !FileManager.default.fileExists(atPath: directory + "/blkio.weight")
      && !FileManager.default.fileExists(atPath: directory + "/blkio.bfq.weight")
    {
      limits.blockIO = BlockIO(weight: 500)
      #expect(throws: (any Error).self) { try cgroup.set(limits) }
    }
  }

  /// Device rules go in, in order, runs of allows and denies each through one descriptor: the kernel's
  /// devices.list must show exactly the allowed, with a later deny taking back part of an earlier allow.
  @Test(.enabled(if: CgroupV1.mountedHierarchies()["devices"] != nil, "a cgroup v1 devices hierarchy"))
  func deviceRulesAreAppliedInOrderOnV1() throws {
    let cgroup = CgroupV1(path: "\(Paths.cgroupParent)/devices-\(UUID().uuidString.prefix(8))")
    let devices = try #require(cgroup.hierarchies["devices"])
    defer {
      try? cgroup.destroy()
      removeCgroupParents()
    }
    var limits = CgroupResources()
    limits.deviceRules = [
      (false, "a *:* rwm"), (true, "c 1:3 rwm"), (true, "c 1:5 rwm"), (false, "c 1:5 w"), (true, "c 1:9 r"),
    ]
    try cgroup.create(for: limits)
    try cgroup.set(limits)
    let list = try String(contentsOfFile: "\(devices)/\(cgroup.path)/devices.list", encoding: .utf8)
    #expect(list.split(separator: "\n").sorted() == ["c 1:3 rwm", "c 1:5 rm", "c 1:9 r"], "\(list)")
    limits.deviceRules = [(true, "c 1:3 rwm"), (false, "x 1:3 rwm")]
    #expect(throws: (any Error).self) { try cgroup.set(limits) }
  }

  /// Each new level of a deep cgroups path gets the cpus and memory nodes of the one above, or the
  /// container could not join its cpuset.
  @Test(.enabled(if: CgroupV1.mountedHierarchies()["cpuset"] != nil, "a cgroup v1 cpuset hierarchy"))
  func deepCpusetPathInheritsCpusAndMems() throws {
    let leaf = "\(Paths.cgroupParent)/deep-\(UUID().uuidString.prefix(8))/a/b"
    let cgroup = CgroupV1(path: leaf)
    let root = try #require(cgroup.hierarchies["cpuset"])
    defer {
      try? cgroup.destroy()
      try? CgroupV1(path: String(leaf.dropLast(2))).destroy()
      try? CgroupV1(path: String(leaf.dropLast(4))).destroy()
      removeCgroupParents()
    }
    try cgroup.create(for: CgroupResources())
    func read(_ path: String, _ file: String) throws -> String {
      try String(contentsOfFile: "\(path)/\(file)", encoding: .utf8)
    }
    var path = root
    for part in leaf.split(separator: "/") {
      path += "/\(part)"
      for file in ["cpuset.cpus", "cpuset.mems"] {
        #expect(try read(path, file) == read(root, file), "\(path)/\(file)")
      }
    }
    // A process can join it: an empty cpuset would refuse it with ENOSPC.
    let sleeper = try Spawned("/bin/sleep", ["30"])
    defer {
      sleeper.signal(SIGKILL)
      _ = try? sleeper.wait()
    }
    try cgroup.add(pid: sleeper.pid)
    let membership = try String(contentsOfFile: "/proc/\(sleeper.pid)/cgroup", encoding: .utf8)
    #expect(membership.contains(":cpuset:/\(leaf)\n"), "\(membership)")
  }

  /// Only the mounts of the asked type are decoded, escapes undone, others skipped.
  @Test func mountInfoFiltersByType() {
    let text = """
      25 1 259:1 / / rw,relatime shared:1 - ext4 /dev/vda rw
      36 25 0:33 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:16 - cgroup cgroup rw,cpu,cpuacct
      37 25 0:34 / /sys/fs/cgroup/name\\040space rw,relatime - cgroup cgroup rw,name=systemd
      38 25 0:35 / /mnt/x rw - overlay overlay rw,lowerdir=/a
      bad line
      """
    let all = MountInfo.parse(Array(text.utf8))
    #expect(all.count == 4)
    let cgroups = MountInfo.parse(Array(text.utf8), type: "cgroup")
    #expect(cgroups.map(\.mountPoint) == ["/sys/fs/cgroup/cpu,cpuacct", "/sys/fs/cgroup/name space"])
    #expect(cgroups.map(\.superOptions) == ["rw,cpu,cpuacct", "rw,name=systemd"])
    #expect(MountInfo.parse(Array(text.utf8), type: "cgroup2").isEmpty)
  }

  /// config.json's blockIO throttles reach the container's blkio cgroup, as the container sees it.
  @Test(
    .enabled(if: rootDisk() != nil, "a block device under / (throttles take a whole disk)"),
    .enabled(if: hasV1Blkio, "a cgroup v1 blkio hierarchy, which the container reads"))
  func blockIOFromTheConfigurationIsInTheContainersCgroup() throws {
    let disk = try #require(Self.rootDisk())
    let file = "/sys/fs/cgroup/blkio/blkio.throttle.write_bps_device"
    let c = try TestContainer("blkio", args: ["/bin/cat", file])
    defer { c.cleanup() }
    let json = #"{"throttleWriteBpsDevice": [{"major": \#(disk.major), "minor": \#(disk.minor), "rate": 2097152}]}"#
    var resources = Spec.Resources()
    resources.blockIO = try Spec.BlockIO(json: JSONValue(parsing: Array(json.utf8)), path: "linux.resources.blockIO")
    c.spec.linux?.resources = resources
    let result = try c.run()
    #expect(result.status == 0, "\(result)")
    #expect(result.stdout == "\(disk.major):\(disk.minor) 2097152\n")
  }

  /// The whole disk under "/", as (major, minor).
  static func rootDisk() -> (major: Int64, minor: Int64)? {
    var st = stat()
    guard stat("/", &st) == 0 else { return nil }
    let dev = UInt64(st.st_dev)  // glibc's gnu_dev_major/minor
    let (major, minor) = (((dev >> 8) & 0xfff) | ((dev >> 32) & ~0xfff), (dev & 0xff) | ((dev >> 12) & ~0xff))
    let device = "/sys/dev/block/\(major):\(minor)"
    let disk = FileManager.default.fileExists(atPath: device + "/partition") ? device + "/.." : device
    guard let text = try? String(contentsOfFile: disk + "/dev", encoding: .utf8) else { return nil }
    let parts = text.split(whereSeparator: { $0 == ":" || $0 == "\n" }).compactMap { Int64($0) }
    return parts.count == 2 ? (parts[0], parts[1]) : nil
  }

  /// Whether this machine has a v1 blkio controller mounted.
  static var hasV1Blkio: Bool { CgroupV1.mountedHierarchies()["blkio"] != nil }

  /// The cgroup2 hierarchy a hybrid machine has beside its v1 controllers, and whether it is there.
  static let unifiedRoot = "/sys/fs/cgroup/unified"
  static var hasUnifiedHierarchy: Bool { FileManager.default.fileExists(atPath: unifiedRoot + "/cgroup.procs") }

  @Test(.enabled(if: hasUnifiedHierarchy, "a cgroup2 hierarchy at /sys/fs/cgroup/unified"))
  func cgroupV2CreateJoinAndRemoveOnTheUnifiedHierarchy() throws {
    let root = Self.unifiedRoot
    let cgroup = CgroupV2(path: "\(Paths.cgroupParent)/v2-\(UUID().uuidString.prefix(8))", root: root)
    defer {
      try? cgroup.destroy()
      rmdir("\(root)/\(Paths.cgroupParent)")
    }
    try cgroup.create(for: CgroupResources())
    #expect(FileManager.default.fileExists(atPath: cgroup.directory + "/cgroup.procs"))
    let sleeper = try Spawned("/bin/sleep", ["30"])
    try cgroup.add(pid: sleeper.pid)
    #expect(cgroup.processes() == [sleeper.pid])
    #expect(cgroup.killAll())
    #expect(try sleeper.wait(timeout: 30).status == 128 + SIGKILL)
    try cgroup.destroy()
    #expect(!FileManager.default.fileExists(atPath: cgroup.directory))
  }

  @Test(.enabled(if: hasUnifiedHierarchy, "a cgroup2 hierarchy at /sys/fs/cgroup/unified"))
  func cgroupV2RefusesLimitsWithoutControllers() throws {
    let root = Self.unifiedRoot
    let cgroup = CgroupV2(path: "\(Paths.cgroupParent)/v2lim-\(UUID().uuidString.prefix(8))", root: root)
    defer {
      try? cgroup.destroy()
      rmdir("\(root)/\(Paths.cgroupParent)")
    }
    var limits = CgroupResources()
    limits.memoryLimit = 1 << 30
    #expect(throws: CgroupError.self) { try cgroup.create(for: limits) }
  }

  /// A static program that allocates and touches N MiB and says so, or (`fork N`) forks N sleeping
  /// children and counts those the kernel allowed.
  func compileHog(into path: String) throws {
    let source = """
      #include <stdio.h>
      #include <stdlib.h>
      #include <string.h>
      #include <unistd.h>
      int main(int argc, char **argv) {
        if (strcmp(argv[1], "fork") == 0) {
          int n = atoi(argv[2]), ok = 0;
          for (int i = 0; i < n; i++) {
            pid_t pid = fork();
            if (pid == 0) { sleep(3); _exit(0); }
            if (pid > 0) ok++;
          }
          printf("forked %d of %d\\n", ok, n);
          return 0;
        }
        int mib = atoi(argv[1]);
        for (int i = 0; i < mib; i++) { char *p = malloc(1 << 20); if (!p) return 2; memset(p, 1, 1 << 20); }
        printf("allocated all\\n");
        return 0;
      }
      """
    let src = path + ".c"
    try source.write(toFile: src, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(atPath: src) }
    let result = runProcess("/usr/bin/cc", ["-static", "-O1", "-o", path, src])
    #expect(result.status == 0, "cc -static: \(result)")
  }
}
