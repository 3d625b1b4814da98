// What `set`, `create`, `add` and `processes` do to a cgroup's control files, with directories under /tmp
// standing in for the hierarchies: CgroupV1 takes its mount points and CgroupV2 its root as arguments,
// so no root and no /sys/fs/cgroup are needed. The control files are made empty beforehand, as the kernel
// would show them; the code never creates one (a missing file is a controller that is not there).
import Cgroups
import LinuxSystem
import TestSupport
import Testing

/// A fake hierarchy tree: `file` makes an empty control file, `read` gives back what was written.
struct FakeCgroupTree {
  let dir: TempDir

  init() throws { dir = try TempDir("fake-cgroup") }

  var root: String { dir.path }

  func file(_ relative: String, _ content: String = "") throws {
    try Files.makeDirectories(Files.dirname(of: root + "/" + relative))
    try Files.writeAtomically(root + "/" + relative, Array(content.utf8), durable: false)
  }

  func read(_ relative: String) throws -> String {
    String(decoding: try Files.read(root + "/" + relative), as: UTF8.self)
  }

  func exists(_ relative: String) -> Bool { Files.exists(root + "/" + relative) }
}

/// cgroup v1: one directory per hierarchy, each limit in its controller's own file, in the v1 spelling.
@Suite("cgroup v1 writes (fake hierarchies)")
struct CgroupV1WriteTests {
  /// Hierarchies as mountinfo gives them: cpu and cpuacct co-mounted, a named systemd hierarchy.
  func cgroup(in tree: FakeCgroupTree) -> CgroupV1 {
    let names = ["memory", "pids", "cpuset", "devices", "blkio", "name=systemd"]
    var hierarchies = Dictionary(uniqueKeysWithValues: names.map { ($0, "\(tree.root)/\($0)") })
    hierarchies["cpu"] = "\(tree.root)/cpu,cpuacct"
    hierarchies["cpuacct"] = "\(tree.root)/cpu,cpuacct"
    return CgroupV1(path: "crun-fast/box", hierarchies: hierarchies)
  }

  @Test func oneDirectoryPerHierarchyAndSelfAttachPlacement() throws {
    let tree = try FakeCgroupTree()
    defer { tree.dir.remove() }
    let cgroup = cgroup(in: tree)
    let expected = ["blkio", "cpu,cpuacct", "cpuset", "devices", "memory", "name=systemd", "pids"].map {
      "\(tree.root)/\($0)/crun-fast/box"
    }
    #expect(cgroup.directories == expected, "co-mounted cpu and cpuacct share one directory")
    #expect(cgroup.placement == .selfAttach(tasksFiles: expected.map { $0 + "/tasks" }))
  }

  @Test func limitsLandInTheirControllersFiles() throws {
    let tree = try FakeCgroupTree()
    defer { tree.dir.remove() }
    let box = "crun-fast/box"
    for file in [
      "memory/\(box)/memory.limit_in_bytes", "memory/\(box)/memory.soft_limit_in_bytes",
      "memory/\(box)/memory.swappiness", "memory/\(box)/memory.oom_control", "pids/\(box)/pids.max",
      "cpu,cpuacct/\(box)/cpu.shares", "cpu,cpuacct/\(box)/cpu.cfs_period_us", "cpu,cpuacct/\(box)/cpu.cfs_quota_us",
      "cpuset/\(box)/cpuset.cpus", "cpuset/\(box)/cpuset.mems",
    ] { try tree.file(file) }
    var limits = CgroupResources()
    limits.memoryLimit = 48 << 20
    limits.memoryReservation = 16 << 20
    limits.memorySwappiness = 10
    limits.disableOOMKiller = true
    limits.pidsLimit = -1
    limits.cpuShares = 512
    limits.cpuPeriod = 100_000
    limits.cpuQuota = 25_000
    limits.cpusetCpus = "0"
    limits.cpusetMems = "0"
    try cgroup(in: tree).set(limits)
    #expect(try tree.read("memory/\(box)/memory.limit_in_bytes") == "\(48 << 20)")
    #expect(try tree.read("memory/\(box)/memory.soft_limit_in_bytes") == "\(16 << 20)")
    #expect(try tree.read("memory/\(box)/memory.swappiness") == "10")
    #expect(try tree.read("memory/\(box)/memory.oom_control") == "1")
    #expect(try tree.read("pids/\(box)/pids.max") == "max")
    #expect(try tree.read("cpu,cpuacct/\(box)/cpu.shares") == "512")
    #expect(try tree.read("cpu,cpuacct/\(box)/cpu.cfs_period_us") == "100000")
    #expect(try tree.read("cpu,cpuacct/\(box)/cpu.cfs_quota_us") == "25000")
    #expect(try tree.read("cpuset/\(box)/cpuset.cpus") == "0")
    #expect(try tree.read("cpuset/\(box)/cpuset.mems") == "0")
  }

  /// Without swap accounting (no memory.memsw.limit_in_bytes) a swap limit is skipped, not an error;
  /// with it, memory + swap is written as given (v1 has the specification's meaning).
  @Test(arguments: [false, true])
  func swapNeedsSwapAccounting(accounting: Bool) throws {
    let tree = try FakeCgroupTree()
    defer { tree.dir.remove() }
    let memory = "memory/crun-fast/box"
    try tree.file("\(memory)/memory.limit_in_bytes")
    if accounting { try tree.file("\(memory)/memory.memsw.limit_in_bytes", "9223372036854771712") }
    var limits = CgroupResources()
    limits.memoryLimit = 32 << 20
    limits.memorySwap = 64 << 20
    try cgroup(in: tree).set(limits)
    #expect(try tree.read("\(memory)/memory.limit_in_bytes") == "\(32 << 20)")
    #expect(tree.exists("\(memory)/memory.memsw.limit_in_bytes") == accounting)
    if accounting { #expect(try tree.read("\(memory)/memory.memsw.limit_in_bytes") == "\(64 << 20)") }
  }

  /// Each run of allows or denies goes through one open of its file: here, a plain file, the allows of one
  /// run land one after the other.
  @Test func deviceRulesGoToAllowAndDeny() throws {
    let tree = try FakeCgroupTree()
    defer { tree.dir.remove() }
    let devices = "devices/crun-fast/box"
    try tree.file("\(devices)/devices.allow")
    try tree.file("\(devices)/devices.deny")
    var limits = CgroupResources()
    limits.deviceRules = [(false, "a *:* rwm"), (true, "c 1:3 rwm"), (true, "c 5:0 rw")]
    try cgroup(in: tree).set(limits)
    #expect(try tree.read("\(devices)/devices.deny") == "a *:* rwm")
    #expect(try tree.read("\(devices)/devices.allow") == "c 1:3 rwmc 5:0 rw")
  }

  /// Weights go to blkio.weight where CFQ offers it, else to BFQ's blkio.bfq.weight; throttles one line
  /// per device file.
  @Test(arguments: [false, true])
  func blockIOFiles(bfq: Bool) throws {
    let tree = try FakeCgroupTree()
    defer { tree.dir.remove() }
    let blkio = "blkio/crun-fast/box"
    let weight = bfq ? "blkio.bfq.weight" : "blkio.weight"
    for file in [
      weight, weight + "_device", "blkio.leaf_weight", "blkio.throttle.read_bps_device",
      "blkio.throttle.write_iops_device",
    ] { try tree.file("\(blkio)/\(file)") }
    var io = BlockIO(weight: 500, leafWeight: 300)
    io.weightDevices = [.init(major: 8, minor: 0, weight: 100)]
    io.throttleReadBps = [.init(major: 8, minor: 0, rate: 1 << 20)]
    io.throttleWriteIOPS = [.init(major: 253, minor: 1, rate: 200)]
    var limits = CgroupResources()
    limits.blockIO = io
    try cgroup(in: tree).set(limits)
    #expect(try tree.read("\(blkio)/\(weight)") == "500")
    #expect(try tree.read("\(blkio)/\(weight)_device") == "8:0 100")
    #expect(try tree.read("\(blkio)/blkio.leaf_weight") == "300")
    #expect(try tree.read("\(blkio)/blkio.throttle.read_bps_device") == "8:0 1048576")
    #expect(try tree.read("\(blkio)/blkio.throttle.write_iops_device") == "253:1 200")
  }

  @Test func addWritesThePidEverywhereAndProcessesReadsPids() throws {
    let tree = try FakeCgroupTree()
    defer { tree.dir.remove() }
    let cgroup = cgroup(in: tree)
    for directory in cgroup.directories {
      try tree.file(String(directory.dropFirst(tree.root.count + 1)) + "/cgroup.procs")
    }
    try cgroup.add(pid: 4242)
    for directory in cgroup.directories {
      #expect(String(decoding: try Files.read(directory + "/cgroup.procs"), as: UTF8.self) == "4242", "\(directory)")
    }
    try tree.file("pids/crun-fast/box/cgroup.procs", "12\n34\n")
    #expect(cgroup.processes() == [12, 34])
  }
}

/// cgroup v2: one directory, controllers switched on in every ancestor, limits in the v2 spelling.
@Suite("cgroup v2 writes (fake hierarchy)")
struct CgroupV2WriteTests {
  @Test func setWritesTheV2Files() throws {
    let tree = try FakeCgroupTree()
    defer { tree.dir.remove() }
    for file in ["memory.max", "memory.swap.max", "pids.max", "cpu.weight", "io.bfq.weight"] {
      try tree.file("box/\(file)")
    }
    let cgroup = CgroupV2(path: "box", root: tree.root)
    #expect(cgroup.directory == tree.root + "/box")
    #expect(cgroup.placement == .cloneInto(directory: tree.root + "/box"))
    var limits = CgroupResources()
    limits.memoryLimit = 1 << 30
    limits.memorySwap = -1
    limits.pidsLimit = 100
    limits.cpuShares = 2
    limits.blockIO = BlockIO(weight: 700)
    try cgroup.set(limits)
    #expect(try tree.read("box/memory.max") == "1073741824")
    #expect(try tree.read("box/memory.swap.max") == "max")
    #expect(try tree.read("box/pids.max") == "100")
    #expect(try tree.read("box/cpu.weight") == "1")
    // io.bfq.weight exists, so the weight goes there on blkio's scale, unscaled.
    #expect(try tree.read("box/io.bfq.weight") == "700")
  }

  /// Controllers are enabled top-down in each ancestor's cgroup.subtree_control, the container's own
  /// directory excepted (a cgroup with processes may not enable controllers for children).
  @Test func createEnablesControllersInEveryAncestor() throws {
    let tree = try FakeCgroupTree()
    defer { tree.dir.remove() }
    for level in ["", "crun-fast/"] {
      try tree.file("\(level)cgroup.controllers", "cpuset cpu io memory pids")
      try tree.file("\(level)cgroup.subtree_control")
    }
    var limits = CgroupResources()
    limits.memoryLimit = 1 << 30
    limits.pidsLimit = 10
    let cgroup = CgroupV2(path: "crun-fast/box", root: tree.root)
    try cgroup.create(for: limits)
    #expect(Files.isDirectory(cgroup.directory))
    #expect(try tree.read("cgroup.subtree_control") == "+memory +pids")
    #expect(try tree.read("crun-fast/cgroup.subtree_control") == "+memory +pids")
    #expect(!tree.exists("crun-fast/box/cgroup.subtree_control"))
  }

  @Test func createRefusesAControllerTheParentLacks() throws {
    let tree = try FakeCgroupTree()
    defer { tree.dir.remove() }
    try tree.file("cgroup.controllers", "cpu memory")
    try tree.file("cgroup.subtree_control")
    var limits = CgroupResources()
    limits.pidsLimit = 10
    let error = #expect(throws: CgroupError.self) { try CgroupV2(path: "box", root: tree.root).create(for: limits) }
    let message = error.map { String(describing: $0) } ?? ""
    #expect(message.contains("\"pids\"") && message.contains(tree.root), "\(message)")
    #expect(try tree.read("cgroup.subtree_control").isEmpty, "nothing enabled when one is missing")
  }

  /// No limits, no controllers: the directory is made and no ancestor's files are touched (they need not
  /// even exist).
  @Test func createWithoutLimitsOnlyMakesTheDirectory() throws {
    let tree = try FakeCgroupTree()
    defer { tree.dir.remove() }
    let cgroup = CgroupV2(path: "a/b", root: tree.root)
    try cgroup.create(for: CgroupResources())
    #expect(Files.isDirectory(tree.root + "/a/b"))
    #expect(!tree.exists("cgroup.subtree_control"))
  }
}
