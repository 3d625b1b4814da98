import Glibc
import LinuxSystem
import Synchronization

/// A cgroup on v1 hierarchies: one directory per mounted hierarchy, found in /proc/self/mountinfo,
/// including named ones without controllers (name=systemd), which runc joins too.
public struct CgroupV1: Cgroup {
  public let path: String
  /// Hierarchy mount points by controller name (`cpu` and `cpuacct` may share one; a named hierarchy is
  /// listed as `name=systemd`).
  public let hierarchies: [String: String]

  public init(path: String, hierarchies: [String: String] = CgroupV1.mountedHierarchies()) {
    self.path = path
    self.hierarchies = hierarchies
  }

  public var directories: [String] { Set(hierarchies.values).sorted().map { "\($0)/\(path)" } }

  func directory(_ controller: String) -> String? { hierarchies[controller].map { "\($0)/\(path)" } }

  public func create(for resources: CgroupResources) throws {
    for directory in directories { try Files.makeDirectories(directory) }
    // A new cpuset cgroup starts with no cpus and no memory nodes, and refuses tasks until given some:
    // each empty one on the way down takes its parent's (one read per file while they are set).
    if let root = hierarchies["cpuset"] {
      for file in ["cpuset.cpus", "cpuset.mems"] {
        var current = root
        var inherited = ControlFile.read("\(root)/\(file)") ?? ""
        for part in path.split(separator: "/") {
          current += "/\(part)"
          let own = ControlFile.read("\(current)/\(file)") ?? ""
          if own.isEmpty {
            try ControlFile.write("\(current)/\(file)", inherited)
          } else {
            inherited = own
          }
        }
      }
    }
  }

  public func set(_ r: CgroupResources) throws {
    if let memory = directory("memory") {
      try setMemory(memory, r)
      if let value = r.memoryReservation { try ControlFile.write("\(memory)/memory.soft_limit_in_bytes", "\(value)") }
      if let value = r.memorySwappiness { try ControlFile.write("\(memory)/memory.swappiness", "\(value)") }
      if r.disableOOMKiller == true { try ControlFile.write("\(memory)/memory.oom_control", "1") }
    }
    if let pids = directory("pids"), let limit = r.pidsLimit {
      try ControlFile.write("\(pids)/pids.max", limit > 0 ? "\(limit)" : "max")
    }
    if let cpu = directory("cpu") {
      if let shares = r.cpuShares { try ControlFile.write("\(cpu)/cpu.shares", "\(shares)") }
      if let period = r.cpuPeriod { try ControlFile.write("\(cpu)/cpu.cfs_period_us", "\(period)") }
      if let quota = r.cpuQuota { try ControlFile.write("\(cpu)/cpu.cfs_quota_us", "\(quota)") }
    }
    if let cpuset = directory("cpuset") {
      if let cpus = r.cpusetCpus { try ControlFile.write("\(cpuset)/cpuset.cpus", cpus) }
      if let mems = r.cpusetMems { try ControlFile.write("\(cpuset)/cpuset.mems", mems) }
    }
    if let devices = directory("devices") {
      // In order, each run of allows or denies through one descriptor.
      var rules = r.deviceRules[...]
      while let allow = rules.first?.allow {
        let run = rules.prefix { $0.allow == allow }
        try ControlFile.writeEach("\(devices)/\(allow ? "devices.allow" : "devices.deny")", run.map(\.rule))
        rules = rules.dropFirst(run.count)
      }
    }
    if let blkio = directory("blkio"), let io = r.blockIO {
      for (file, value) in Self.blkioFiles(for: io, bfq: !Files.exists("\(blkio)/blkio.weight")) {
        try ControlFile.write("\(blkio)/\(file)", value)
      }
    }
  }

  /// The blkio control files and values for `io`, one write each (the per-device files take one line per
  /// write). Without CFQ, the kernel offers the weights only as BFQ's, in blkio.bfq.weight.
  static func blkioFiles(for io: BlockIO, bfq: Bool) -> [(file: String, value: String)] {
    var out: [(String, String)] = []
    let weight = bfq ? "blkio.bfq.weight" : "blkio.weight"
    if let value = io.weight { out.append((weight, "\(value)")) }
    if let value = io.leafWeight { out.append(("blkio.leaf_weight", "\(value)")) }
    for device in io.weightDevices {
      if let value = device.weight { out.append((weight + "_device", "\(device.major):\(device.minor) \(value)")) }
      if let value = device.leafWeight {
        out.append(("blkio.leaf_weight_device", "\(device.major):\(device.minor) \(value)"))
      }
    }
    let throttles = [
      ("read_bps_device", io.throttleReadBps), ("write_bps_device", io.throttleWriteBps),
      ("read_iops_device", io.throttleReadIOPS), ("write_iops_device", io.throttleWriteIOPS),
    ]
    for (name, rates) in throttles {
      for rate in rates { out.append(("blkio.throttle.\(name)", "\(rate.major):\(rate.minor) \(rate.rate)")) }
    }
    return out
  }

  /// memory.memsw.limit_in_bytes (memory + swap) may never be below memory.limit_in_bytes, so the order of
  /// the two writes depends on whether the limit grows or shrinks; memsw exists only with swap accounting.
  private func setMemory(_ memory: String, _ r: CgroupResources) throws {
    let swapFile = "\(memory)/memory.memsw.limit_in_bytes"
    let swap = r.memorySwap != nil && Files.exists(swapFile) ? r.memorySwap : nil
    let limitFile = "\(memory)/memory.limit_in_bytes"
    switch (r.memoryLimit, swap) {
    case (let limit?, let swap?):
      if swap == -1 || (Int64(ControlFile.read(swapFile) ?? "0") ?? 0) < limit {
        try ControlFile.write(swapFile, "\(swap)")
        try ControlFile.write(limitFile, "\(limit)")
      } else {
        try ControlFile.write(limitFile, "\(limit)")
        try ControlFile.write(swapFile, "\(swap)")
      }
    case (let limit?, nil): try ControlFile.write(limitFile, "\(limit)")
    case (nil, let swap?): try ControlFile.write(swapFile, "\(swap)")
    case (nil, nil): break
    }
  }

  public func add(pid: Int32) throws {
    for directory in directories { try ControlFile.write("\(directory)/cgroup.procs", "\(pid)") }
  }

  public var placement: CgroupPlacement { .selfAttach(tasksFiles: directories.map { "\($0)/tasks" }) }

  public func processes() -> [Int32] {
    guard let directory = directory("pids") ?? directory("memory") ?? directories.first else { return [] }
    return ControlFile.pids("\(directory)/cgroup.procs")
  }

  public func destroy() throws {
    for directory in directories { try ControlFile.removeDirectory(directory) }
  }

  /// Controller (or `name=…`) → mount point for every v1 hierarchy, read once per process (`run` opens
  /// the cgroup to create it and again to delete it); an empty answer (mountinfo unreadable) is read again.
  public static func mountedHierarchies() -> [String: String] {
    if let known = hierarchiesRead.withLock({ $0 }) { return known }
    let found = readHierarchies()
    if !found.isEmpty { hierarchiesRead.withLock { $0 = found } }
    return found
  }

  private static let hierarchiesRead = Mutex<[String: String]?>(nil)

  private static func readHierarchies() -> [String: String] {
    var out: [String: String] = [:]
    for mount in MountInfo.entries(type: "cgroup") {
      for option in mount.superOptions.split(separator: ",") {
        let name = String(option)
        if controllers.contains(name) || name.hasPrefix("name=") { out[name] = mount.mountPoint }
      }
    }
    return out
  }

  static let controllers: Set<String> = [
    "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids", "net_cls", "net_prio",
    "perf_event", "hugetlb", "rdma", "misc",
  ]
}
