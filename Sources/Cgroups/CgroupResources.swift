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
  /// Device rules in order, in the v1 syntax, e.g. `(false, "a *:* rwm")`, `(true, "c 1:3 rwm")`: written to
  /// devices.allow and devices.deny on v1, compiled into an eBPF device program on v2 (`DeviceFilter`).
  public var deviceRules: [(allow: Bool, rule: String)] = []
  /// `linux.resources.blockIO`: blkio on v1, io on v2.
  public var blockIO: BlockIO?

  public init() {}

  public static func == (a: Self, b: Self) -> Bool {
    a.memoryLimit == b.memoryLimit && a.memoryReservation == b.memoryReservation && a.memorySwap == b.memorySwap
      && a.memorySwappiness == b.memorySwappiness && a.disableOOMKiller == b.disableOOMKiller
      && a.pidsLimit == b.pidsLimit && a.cpuShares == b.cpuShares && a.cpuQuota == b.cpuQuota
      && a.cpuPeriod == b.cpuPeriod && a.cpusetCpus == b.cpusetCpus && a.cpusetMems == b.cpusetMems
      && a.deviceRules.elementsEqual(b.deviceRules) { $0.allow == $1.allow && $0.rule == $1.rule }
      && a.blockIO == b.blockIO
  }

  /// Whether any limit is set, so that a container without limits need not touch controllers.
  public var isEmpty: Bool { self == CgroupResources() }
}

/// Block I/O weights and throttles, with the v1 (blkio) meaning the OCI specification gives them.
public struct BlockIO: Sendable, Equatable {
  /// blkio.weight, 10…1000 (v2: io.bfq.weight as is, or io.weight scaled onto 1…10000).
  public var weight: UInt16?
  /// blkio.leaf_weight, 10…1000; v1 only, v2 has nothing like it.
  public var leafWeight: UInt16?
  public var weightDevices: [WeightDevice] = []
  /// Bytes or operations per second by device; a rate of 0 removes the limit.
  public var throttleReadBps: [DeviceRate] = []
  public var throttleWriteBps: [DeviceRate] = []
  public var throttleReadIOPS: [DeviceRate] = []
  public var throttleWriteIOPS: [DeviceRate] = []

  public init(weight: UInt16? = nil, leafWeight: UInt16? = nil) {
    self.weight = weight
    self.leafWeight = leafWeight
  }

  /// A weight for one block device (`major:minor`).
  public struct WeightDevice: Sendable, Equatable {
    public var major: Int64
    public var minor: Int64
    public var weight: UInt16?
    public var leafWeight: UInt16?

    public init(major: Int64, minor: Int64, weight: UInt16? = nil, leafWeight: UInt16? = nil) {
      (self.major, self.minor, self.weight, self.leafWeight) = (major, minor, weight, leafWeight)
    }
  }

  /// A throttle for one block device.
  public struct DeviceRate: Sendable, Equatable {
    public var major: Int64
    public var minor: Int64
    public var rate: UInt64

    public init(major: Int64, minor: Int64, rate: UInt64) {
      (self.major, self.minor, self.rate) = (major, minor, rate)
    }
  }
}
