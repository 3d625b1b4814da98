import Glibc
import LinuxSystem

/// A cgroup on the unified (cgroup2) hierarchy: one directory, limits in memory.max, pids.max, cpu.max,
/// cpu.weight and cpuset.cpus, and controllers enabled in each ancestor's cgroup.subtree_control.
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

  public func set(_ resources: CgroupResources) throws {
    for (file, value) in Self.files(for: resources) { try ControlFile.write("\(directory)/\(file)", value) }
  }

  /// The controllers `resources` needs, sorted.
  public static func controllers(for r: CgroupResources) -> [String] {
    var out: [String] = []
    if r.cpuShares != nil || r.cpuQuota != nil || r.cpuPeriod != nil { out.append("cpu") }
    if r.cpusetCpus != nil || r.cpusetMems != nil { out.append("cpuset") }
    if r.memoryLimit != nil || r.memoryReservation != nil || r.memorySwap != nil { out.append("memory") }
    if r.pidsLimit != nil { out.append("pids") }
    return out
  }

  /// The control files and values that express `r` on cgroup v2, in the order they are written. Pure, so
  /// that the v1 → v2 conversions (shares → weight, memory+swap → swap) are testable without a v2 machine.
  public static func files(for r: CgroupResources) -> [(file: String, value: String)] {
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
    return out
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
