import Cgroups
import OCISpec

extension CgroupResources {
  /// The cgroup limits of `linux.resources`. Device rules are the configuration's, followed by the devices
  /// every container may use, as runc allows them after a default deny (on v2 they become an eBPF program,
  /// `DeviceFilter`, with the same last-match-wins meaning).
  public init(_ resources: Spec.Resources?, devices: [Spec.Device]) {
    self.init()
    guard let resources else { return }
    memoryLimit = resources.memory?.limit
    memoryReservation = resources.memory?.reservation
    memorySwap = resources.memory?.swap
    memorySwappiness = resources.memory?.swappiness
    disableOOMKiller = resources.memory?.disableOOMKiller
    pidsLimit = resources.pids?.limit
    cpuShares = resources.cpu?.shares
    cpuQuota = resources.cpu?.quota
    cpuPeriod = resources.cpu?.period
    cpusetCpus = resources.cpu?.cpus
    cpusetMems = resources.cpu?.mems
    if let io = resources.blockIO {
      var mapped = BlockIO(weight: io.weight, leafWeight: io.leafWeight)
      mapped.weightDevices = (io.weightDevice ?? []).map {
        .init(major: $0.major, minor: $0.minor, weight: $0.weight, leafWeight: $0.leafWeight)
      }
      func rates(_ devices: [Spec.ThrottleDevice]?) -> [BlockIO.DeviceRate] {
        (devices ?? []).map { .init(major: $0.major, minor: $0.minor, rate: $0.rate) }
      }
      mapped.throttleReadBps = rates(io.throttleReadBpsDevice)
      mapped.throttleWriteBps = rates(io.throttleWriteBpsDevice)
      mapped.throttleReadIOPS = rates(io.throttleReadIOPSDevice)
      mapped.throttleWriteIOPS = rates(io.throttleWriteIOPSDevice)
      blockIO = mapped
    }
    guard let rules = resources.devices, !rules.isEmpty else { return }
    func number(_ n: Int64?) -> String { n.map { $0 < 0 ? "*" : "\($0)" } ?? "*" }
    for rule in rules {
      let type = rule.type ?? "a"
      let text = type == "a" ? "a" : "\(type) \(number(rule.major)):\(number(rule.minor)) \(rule.access ?? "rwm")"
      deviceRules.append((rule.allow, type == "a" ? "a *:* \(rule.access ?? "rwm")" : text))
    }
    deviceRules += [(true, "c *:* m"), (true, "b *:* m"), (true, "c 136:* rwm"), (true, "c 5:2 rwm")]
    for device in devices where device.type == "c" || device.type == "b" {
      deviceRules.append((true, "\(device.type) \(number(device.major)):\(number(device.minor)) rwm"))
    }
  }
}
