import Glibc
import LinuxSystem

/// A cgroup on the unified (cgroup2) hierarchy: one directory, limits in memory.max, pids.max, cpu.max,
/// cpu.weight, cpuset.cpus, io.weight and io.max, controllers enabled in each ancestor's
/// cgroup.subtree_control, and the device rules as an eBPF program attached to the directory.
public struct CgroupV2: Cgroup {
  public let path: String
  /// The hierarchy's mount point: /sys/fs/cgroup on a v2 machine, /sys/fs/cgroup/unified on a hybrid one.
  public let root: String

  public init(path: String, root: String) {
    self.path = path
    self.root = root
  }

  public var directory: String { "\(root)/\(path)" }
  public var directories: [String] { [directory] }

  public func create(for resources: CgroupResources) throws {
    try Files.makeDirectories(directory)
    let wanted = Self.controllers(for: resources)
    guard !wanted.isEmpty else { return }
    // Each controller must be enabled in the subtree_control of every ancestor, top-down, before the
    // container's own directory shows its files.
    var current = root
    for part in path.split(separator: "/") {
      let available = Set(
        (ControlFile.read("\(current)/cgroup.controllers") ?? "").split(separator: " ").map(String.init))
      for controller in wanted where !available.contains(controller) {
        throw CgroupError("cgroup v2 controller \"\(controller)\" is not available in \(current)")
      }
      try ControlFile.write("\(current)/cgroup.subtree_control", wanted.map { "+\($0)" }.joined(separator: " "))
      current += "/\(part)"
    }
  }

  /// Writes the limits, then attaches the device program, all before the container's init runs.
  public func set(_ resources: CgroupResources) throws {
    var rules: [DeviceRule] = []
    for (allow, rule) in resources.deviceRules { rules.append(try DeviceRule(allow: allow, rule)) }
    // BFQ has its own weight file, on the old blkio scale; io.weight belongs to the io.cost controller.
    let bfq = resources.blockIO != nil && Files.exists("\(directory)/io.bfq.weight")
    for (file, value) in Self.files(for: resources, bfq: bfq) {
      try ControlFile.write("\(directory)/\(file)", value)
    }
    // No rules, no program: as on v1, the container then has the devices its parent cgroup allows.
    if !rules.isEmpty { try DeviceProgram.install(DeviceFilter.program(rules), in: directory) }
  }

  /// The controllers `resources` needs, sorted.
  public static func controllers(for r: CgroupResources) -> [String] {
    var out: [String] = []
    if r.cpuShares != nil || r.cpuQuota != nil || r.cpuPeriod != nil { out.append("cpu") }
    if r.cpusetCpus != nil || r.cpusetMems != nil { out.append("cpuset") }
    if r.memoryLimit != nil || r.memoryReservation != nil || r.memorySwap != nil { out.append("memory") }
    if r.pidsLimit != nil { out.append("pids") }
    if let blockIO = r.blockIO, !ioFiles(blockIO, bfq: false).isEmpty { out.append("io") }
    return out.sorted()
  }

  /// The control files and values that express `r` on cgroup v2, in the order they are written. Pure, so
  /// that the v1 → v2 conversions (shares → weight, memory+swap → swap, blkio weight → io weight) are
  /// testable without a v2 machine. `bfq`: whether the cgroup has io.bfq.weight.
  public static func files(for r: CgroupResources, bfq: Bool = false) -> [(file: String, value: String)] {
    var out: [(String, String)] = []
    func bytes(_ v: Int64) -> String { v < 0 ? "max" : "\(v)" }
    if let limit = r.memoryLimit { out.append(("memory.max", bytes(limit))) }
    if let low = r.memoryReservation { out.append(("memory.low", bytes(low))) }
    if let swap = r.memorySwap {
      // The specification's swap is memory + swap; v2's memory.swap.max counts swap alone.
      if swap < 0 {
        out.append(("memory.swap.max", "max"))
      } else if let limit = r.memoryLimit, limit >= 0 {
        out.append(("memory.swap.max", "\(max(swap - limit, 0))"))
      }
    }
    if let limit = r.pidsLimit { out.append(("pids.max", limit > 0 ? "\(limit)" : "max")) }
    if let shares = r.cpuShares { out.append(("cpu.weight", "\(weight(fromShares: shares))")) }
    if r.cpuQuota != nil || r.cpuPeriod != nil {
      let quota = r.cpuQuota.map { $0 > 0 ? "\($0)" : "max" } ?? "max"
      out.append(("cpu.max", "\(quota) \(r.cpuPeriod ?? 100_000)"))
    }
    if let cpus = r.cpusetCpus { out.append(("cpuset.cpus", cpus)) }
    if let mems = r.cpusetMems { out.append(("cpuset.mems", mems)) }
    if let blockIO = r.blockIO { out += ioFiles(blockIO, bfq: bfq) }
    return out
  }

  /// Weights go to io.bfq.weight unchanged (BFQ keeps blkio's 1…1000 scale) or, scaled, to io.weight;
  /// both take `N` for the default and `MAJ:MIN N` for one device. Throttles become one io.max line per
  /// device, `MAJ:MIN rbps=… wbps=… riops=… wiops=…` with the keys that are set; a rate of 0 (no limit
  /// on v1) is `max`, since io.max refuses 0. The leaf weights have no v2 counterpart and are dropped,
  /// as runc and crun drop them.
  static func ioFiles(_ b: BlockIO, bfq: Bool) -> [(file: String, value: String)] {
    var out: [(String, String)] = []
    let weightFile = bfq ? "io.bfq.weight" : "io.weight"
    func scaled(_ weight: UInt16) -> String { bfq ? "\(weight)" : "\(ioWeight(fromBlkioWeight: weight))" }
    if let weight = b.weight, weight > 0 { out.append((weightFile, scaled(weight))) }
    for device in b.weightDevices {
      if let weight = device.weight, weight > 0 {
        out.append((weightFile, "\(device.major):\(device.minor) \(scaled(weight))"))
      }
    }
    var devices: [String] = []
    var limits: [String: [String]] = [:]
    let throttles = [
      ("rbps", b.throttleReadBps), ("wbps", b.throttleWriteBps), ("riops", b.throttleReadIOPS),
      ("wiops", b.throttleWriteIOPS),
    ]
    for (key, rates) in throttles {
      for rate in rates {
        let device = "\(rate.major):\(rate.minor)"
        if limits[device] == nil { devices.append(device) }
        limits[device, default: []].append("\(key)=\(rate.rate == 0 ? "max" : "\(rate.rate)")")
      }
    }
    for device in devices { out.append(("io.max", ([device] + limits[device]!).joined(separator: " "))) }
    return out
  }

  /// blkio.weight (10…1000) onto io.weight (1…10000), the linear map runc and crun use.
  public static func ioWeight(fromBlkioWeight weight: UInt16) -> UInt64 {
    let clamped = UInt64(min(max(weight, 10), 1000))
    return 1 + (clamped - 10) * 9999 / 990
  }

  /// cpu.shares (2…262144) onto cpu.weight (1…10000), the linear map runc and crun use.
  public static func weight(fromShares shares: UInt64) -> UInt64 {
    let clamped = min(max(shares, 2), 262_144)
    return 1 + ((clamped - 2) * 9999) / 262_142
  }

  public func add(pid: Int32) throws {
    try ControlFile.write("\(directory)/cgroup.procs", "\(pid)")
  }

  public var placement: CgroupPlacement { .cloneInto(directory: directory) }

  public func processes() -> [Int32] { ControlFile.pids("\(directory)/cgroup.procs") }

  /// cgroup.kill (Linux 5.14+) kills every process in the cgroup at once, without a pid-reuse race.
  public func killAll() -> Bool {
    (try? ControlFile.write("\(directory)/cgroup.kill", "1")) != nil
  }

  public func destroy() throws { try ControlFile.removeDirectory(directory) }
}
