// The translation of a container's limits into cgroup v2 control files, the controllers they need, and
// the checks on a configured cgroups path: plain values in and out, no cgroup hierarchy touched.
import Cgroups
import Testing

/// `CgroupV2.files(for:)` is what `set` writes, in order; its conversions from the OCI (v1) meanings are
/// where v2 differs (memory + swap → swap alone, shares → weight, quota and period on one line), so each is
/// checked against the value runc and crun write.
@Suite("cgroup v2 control files from limits")
struct CgroupV2FilesTests {
  func files(_ change: (inout CgroupResources) -> Void) -> [String] {
    var resources = CgroupResources()
    change(&resources)
    return CgroupV2.files(for: resources).map { "\($0.file)=\($0.value)" }
  }

  @Test func memoryLimitReservationAndSwap() {
    let out = files {
      $0.memoryLimit = 64 << 20
      $0.memoryReservation = 32 << 20
      $0.memorySwap = 96 << 20
    }
    // The specification's swap counts memory too; memory.swap.max is swap alone: 96 - 64 MiB.
    #expect(out == ["memory.max=67108864", "memory.low=33554432", "memory.swap.max=33554432"])
  }

  @Test(
    arguments: [
      // (limit, swap, memory.swap.max or nil when nothing is written)
      (Int64(100), Int64(-1), "max"),  // unlimited swap
      (100, 50, "0"),  // swap below the limit: no swap at all, never negative
      (100, 100, "0"),
      (100, 150, "50"),
      (-1, 150, nil),  // no limit to subtract from: left alone
    ] as [(Int64, Int64, String?)])
  func swapIsMemoryPlusSwapMinusTheLimit(limit: Int64, swap: Int64, expected: String?) {
    let out = files {
      $0.memoryLimit = limit
      $0.memorySwap = swap
    }
    #expect(out.first == "memory.max=\(limit < 0 ? "max" : "\(limit)")")
    #expect(out.dropFirst().first == expected.map { "memory.swap.max=\($0)" })
    #expect(out.count == (expected == nil ? 1 : 2))
  }

  @Test func swapWithoutALimitWritesNoSwapFile() {
    #expect(files { $0.memorySwap = 1 << 30 }.isEmpty)
  }

  @Test(arguments: [(Int64(10), "10"), (1, "1"), (0, "max"), (-1, "max")])
  func pidsLimit(limit: Int64, expected: String) {
    #expect(files { $0.pidsLimit = limit } == ["pids.max=\(expected)"])
  }

  @Test func cpuSharesQuotaPeriodAndCpuset() {
    let out = files {
      $0.cpuShares = 1024
      $0.cpuQuota = 50_000
      $0.cpuPeriod = 200_000
      $0.cpusetCpus = "0-3"
      $0.cpusetMems = "0"
    }
    #expect(out == ["cpu.weight=39", "cpu.max=50000 200000", "cpuset.cpus=0-3", "cpuset.mems=0"])
  }

  /// cpu.max wants both numbers: a quota alone gets the default period, a period alone or a quota of -1
  /// (unlimited, OCI) gets "max".
  @Test(
    arguments: [
      (25_000, nil, "25000 100000"), (nil, 20_000, "max 20000"), (-1, nil, "max 100000"), (0, 50_000, "max 50000"),
    ] as [(Int64?, UInt64?, String)])
  func cpuMaxFillsInTheMissingHalf(quota: Int64?, period: UInt64?, expected: String) {
    #expect(files { ($0.cpuQuota, $0.cpuPeriod) = (quota, period) } == ["cpu.max=\(expected)"])
  }

  /// The linear map from cpu.shares (2…262144) to cpu.weight (1…10000) that runc and crun use.
  @Test(
    arguments: [
      (UInt64(2), UInt64(1)), (1024, 39), (512, 20), (262_144, 10_000), (0, 1), (1 << 40, 10_000),
    ])
  func sharesToWeight(shares: UInt64, weight: UInt64) {
    #expect(CgroupV2.weight(fromShares: shares) == weight)
  }

  @Test func controllersFollowTheLimitsSet() {
    var resources = CgroupResources()
    #expect(CgroupV2.controllers(for: resources).isEmpty)
    resources.deviceRules = [(false, "a *:* rwm")]
    #expect(CgroupV2.controllers(for: resources).isEmpty, "devices are a BPF program, not a controller")
    resources.pidsLimit = 5
    resources.memorySwap = 1
    resources.cpuPeriod = 100_000
    resources.cpusetMems = "0"
    #expect(CgroupV2.controllers(for: resources) == ["cpu", "cpuset", "memory", "pids"])
    resources.blockIO = BlockIO(weight: 100)
    #expect(CgroupV2.controllers(for: resources) == ["cpu", "cpuset", "io", "memory", "pids"])
  }

  @Test func emptinessAndEqualityCountEveryLimit() {
    #expect(CgroupResources().isEmpty)
    var a = CgroupResources()
    a.deviceRules = [(true, "c 1:3 rwm")]
    #expect(!a.isEmpty)
    var b = a
    #expect(a == b)
    b.deviceRules = [(false, "c 1:3 rwm")]
    #expect(a != b, "the allow flag of a device rule counts")
    b = a
    b.cpusetMems = "0"
    #expect(a != b)
    var c = CgroupResources()
    c.disableOOMKiller = false
    #expect(!c.isEmpty)
  }
}

/// linux.cgroupsPath as the runtime accepts it: relative below every hierarchy, never climbing out.
@Suite("cgroups path normalization")
struct CgroupPathTests {
  @Test(
    arguments: [
      ("/machine/box", "machine/box"), ("machine/box", "machine/box"), ("a//./b/", "a/b"), ("/x", "x"),
    ])
  func pathsBecomeRelative(path: String, expected: String) throws {
    #expect(try Cgroups.normalize(path) == expected)
  }

  @Test(
    arguments: [
      ("", "is empty"), ("/", "is empty"), ("./.", "is empty"), ("a/../../etc", "must not contain .."),
      ("system.slice:crun:box", "systemd slice paths are not supported"),
    ])
  func badPathsAreRefusedWithTheReason(path: String, reason: String) {
    let error = #expect(throws: CgroupError.self) { try Cgroups.normalize(path) }
    let message = error.map { String(describing: $0) } ?? ""
    #expect(message.contains("\"\(path)\"") && message.contains(reason), "\(message)")
  }
}
