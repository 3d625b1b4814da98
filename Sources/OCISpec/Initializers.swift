// Public memberwise initializers, which Swift does not synthesize across modules, for the parts of the
// specification that callers (tests, `crun-fast spec`) build by hand.
extension Spec.Capabilities {
  public init(all names: [String]) {
    (bounding, effective, inheritable, permitted, ambient) = (names, names, names, names, names)
  }
}

extension Spec.Resources {
  public init(memory: Spec.Memory? = nil, cpu: Spec.CPU? = nil, pids: Spec.Pids? = nil) {
    self.memory = memory
    self.cpu = cpu
    self.pids = pids
  }
}

extension Spec.Memory {
  public init(limit: Int64? = nil, reservation: Int64? = nil, swap: Int64? = nil) {
    self.limit = limit
    self.reservation = reservation
    self.swap = swap
  }
}

extension Spec.CPU {
  public init(shares: UInt64? = nil, quota: Int64? = nil, period: UInt64? = nil, cpus: String? = nil) {
    self.shares = shares
    self.quota = quota
    self.period = period
    self.cpus = cpus
  }
}

extension Spec.Seccomp {
  public init(defaultAction: String, architectures: [String]? = nil, syscalls: [Spec.Syscall]? = nil) {
    self.defaultAction = defaultAction
    self.architectures = architectures
    self.syscalls = syscalls
  }
}
