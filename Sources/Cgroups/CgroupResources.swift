/// Limits for a container's cgroup, independent of the hierarchy version. nil leaves the kernel default.
/// Memory values are bytes; -1 means unlimited, as in the OCI specification.
public struct CgroupResources: Sendable, Equatable {
  public var memoryLimit: Int64?
  public var memoryReservation: Int64?
  /// Memory plus swap (v1 semantics, which the OCI specification uses); v2 writes swap alone.
  public var memorySwap: Int64?
  public var memorySwappiness: UInt64?
  public var disableOOMKiller: Bool?
  /// pids.max; 0 or less means unlimited.
  public var pidsLimit: Int64?
  public var cpuShares: UInt64?
  public var cpuQuota: Int64?
  public var cpuPeriod: UInt64?
  public var cpusetCpus: String?
  public var cpusetMems: String?
  /// v1 device rules in order, e.g. `(false, "a *:* rwm")`, `(true, "c 1:3 rwm")`.
  public var deviceRules: [(allow: Bool, rule: String)] = []

  public init() {}

  public static func == (a: Self, b: Self) -> Bool {
    a.memoryLimit == b.memoryLimit && a.memoryReservation == b.memoryReservation && a.memorySwap == b.memorySwap
      && a.memorySwappiness == b.memorySwappiness && a.disableOOMKiller == b.disableOOMKiller
      && a.pidsLimit == b.pidsLimit && a.cpuShares == b.cpuShares && a.cpuQuota == b.cpuQuota
      && a.cpuPeriod == b.cpuPeriod && a.cpusetCpus == b.cpusetCpus && a.cpusetMems == b.cpusetMems
      && a.deviceRules.elementsEqual(b.deviceRules) { $0.allow == $1.allow && $0.rule == $1.rule }
  }

  /// Whether any limit is set, so that a container without limits need not touch controllers.
  public var isEmpty: Bool { self == CgroupResources() }
}
