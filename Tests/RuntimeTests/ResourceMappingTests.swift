// linux.resources as the cgroup code gets it: CgroupResources built from a configuration, plain values.
import Cgroups
import OCISpec
import Runtime
import Testing

/// The mapping from `linux.resources` to CgroupResources: every limit carried over unchanged, and the
/// device rules in v1 syntax, the configuration's first and then the devices every container may use,
/// as runc allows them. These rules are what devices.allow gets on v1 and what the v2 program is built
/// from, so each must also parse as a DeviceRule.
@Suite("cgroup resources from a configuration (no root)")
struct ResourceMappingTests {
  func resources(_ linuxResources: String, devices: [Spec.Device] = []) throws -> CgroupResources {
    let spec = try PlanFixtures.minimal(linux: #""resources": \#(linuxResources)"#)
    return CgroupResources(spec.linux?.resources, devices: devices)
  }

  @Test func noResourcesNoLimits() throws {
    #expect(CgroupResources(nil, devices: MountPlan.defaultDevices).isEmpty)
    #expect(try resources("{}").isEmpty)
  }

  @Test func limitsAreCarriedOver() throws {
    let r = try resources(
      #"""
      {"memory": {"limit": 67108864, "reservation": 33554432, "swap": -1, "swappiness": 0, "disableOOMKiller": true},
       "cpu": {"shares": 512, "quota": 20000, "period": 100000, "cpus": "0-1", "mems": "0"},
       "pids": {"limit": 64}}
      """#)
    #expect(r.memoryLimit == 64 << 20 && r.memoryReservation == 32 << 20 && r.memorySwap == -1)
    #expect(r.memorySwappiness == 0 && r.disableOOMKiller == true)
    #expect(r.cpuShares == 512 && r.cpuQuota == 20_000 && r.cpuPeriod == 100_000)
    #expect(r.cpusetCpus == "0-1" && r.cpusetMems == "0")
    #expect(r.pidsLimit == 64)
    #expect(r.blockIO == nil)
    #expect(r.deviceRules.isEmpty, "no device rules configured: none added either")
  }

  @Test func blockIOIsCarriedOver() throws {
    let r = try resources(
      #"""
      {"blockIO": {"weight": 500, "leafWeight": 300,
        "weightDevice": [{"major": 8, "minor": 0, "weight": 100, "leafWeight": 50}],
        "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}],
        "throttleWriteBpsDevice": [{"major": 8, "minor": 16, "rate": 0}],
        "throttleReadIOPSDevice": [{"major": 253, "minor": 1, "rate": 100}],
        "throttleWriteIOPSDevice": [{"major": 253, "minor": 1, "rate": 50}]}}
      """#)
    var expected = BlockIO(weight: 500, leafWeight: 300)
    expected.weightDevices = [BlockIO.WeightDevice(major: 8, minor: 0, weight: 100, leafWeight: 50)]
    expected.throttleReadBps = [BlockIO.DeviceRate(major: 8, minor: 0, rate: 1 << 20)]
    expected.throttleWriteBps = [BlockIO.DeviceRate(major: 8, minor: 16, rate: 0)]
    expected.throttleReadIOPS = [BlockIO.DeviceRate(major: 253, minor: 1, rate: 100)]
    expected.throttleWriteIOPS = [BlockIO.DeviceRate(major: 253, minor: 1, rate: 50)]
    #expect(r.blockIO == expected)
  }

  /// `crun-fast spec`'s deny-all, then runc's standard allows, then one rule per device node.
  @Test func defaultDeviceRules() throws {
    let spec = try PlanFixtures.defaultSpec()
    let r = CgroupResources(spec.linux?.resources, devices: MountPlan(spec: spec, rootfs: "/r", bundle: "/b").devices)
    let rules = r.deviceRules.map { "\($0.allow ? "allow" : "deny") \($0.rule)" }
    #expect(
      rules == [
        "deny a *:* rwm", "allow c *:* m", "allow b *:* m", "allow c 136:* rwm", "allow c 5:2 rwm",
        "allow c 1:3 rwm", "allow c 1:5 rwm", "allow c 1:7 rwm", "allow c 1:8 rwm", "allow c 1:9 rwm",
        "allow c 5:0 rwm",
      ])
  }

  /// Wildcards (absent or negative numbers) are `*`; a rule without a type is `a`; devices other than
  /// character and block devices get no rule.
  @Test func configuredRulesAndDevices() throws {
    let r = try resources(
      #"""
      {"devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 10, "minor": -1, "access": "rw"},
        {"allow": true, "type": "b", "major": 8}, {"allow": false, "type": "c", "major": 1, "minor": 3, "access": "w"},
        {"allow": true, "type": "a", "access": "r"}]}
      """#,
      devices: [
        Spec.Device(type: "c", path: "/dev/fuse", major: 10, minor: 229),
        Spec.Device(type: "b", path: "/dev/loop0", major: 7, minor: 0), Spec.Device(type: "p", path: "/dev/fifo"),
      ])
    let rules = r.deviceRules.map { "\($0.allow ? "allow" : "deny") \($0.rule)" }
    #expect(
      rules == [
        "deny a *:* rwm", "allow c 10:* rw", "allow b 8:* rwm", "deny c 1:3 w", "allow a *:* r", "allow c *:* m",
        "allow b *:* m", "allow c 136:* rwm", "allow c 5:2 rwm", "allow c 10:229 rwm", "allow b 7:0 rwm",
      ])
    for (allow, text) in r.deviceRules {
      #expect((try? DeviceRule(allow: allow, text)) != nil, "\(text)")
    }
  }
}
