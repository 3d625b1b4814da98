// Capability names from config.json resolved to the bit masks the container's init hands to capset(2)
// and prctl(2). libcap runs in this process, so none of this needs root.
import Capabilities
import Testing

/// Names in, masks out: the spellings the specification and runc accept, each set kept apart, and a name
/// libcap does not know refused with the set and the name in the message, before anything is created.
@Suite("Capability sets from names")
struct CapabilitySetsTests {
  /// capabilities(7) numbers, which are kernel ABI; prefix and case do not matter.
  @Test(
    arguments: [
      ("CAP_CHOWN", 0), ("chown", 0), ("CAP_KILL", 5), ("cap_kill", 5), ("NET_BIND_SERVICE", 10),
      ("Cap_Net_Bind_Service", 10), ("CAP_SYS_ADMIN", 21), ("CAP_AUDIT_WRITE", 29), ("CAP_SETFCAP", 31),
    ])
  func nameResolvesToItsNumber(name: String, number: Int) throws {
    #expect(try CapabilitySets.number(of: name) == number)
  }

  @Test func eachSetGetsOnlyItsOwnNames() throws {
    let sets = try CapabilitySets(
      effective: ["CAP_KILL"], permitted: ["CAP_KILL", "CAP_CHOWN"], inheritable: [],
      bounding: ["CAP_KILL", "CAP_CHOWN", "CAP_SYS_ADMIN"], ambient: ["net_bind_service"])
    #expect(sets.effective == 1 << 5)
    #expect(sets.permitted == 1 << 5 | 1 << 0)
    #expect(sets.inheritable == 0)
    #expect(sets.bounding == 1 << 5 | 1 << 0 | 1 << 21)
    #expect(sets.ambient == 1 << 10)
  }

  /// A name listed twice sets its bit once; an empty list is an empty set, not "everything".
  @Test func duplicatesAndEmptyLists() throws {
    let sets = try CapabilitySets(
      effective: ["CAP_KILL", "kill", "CAP_KILL"], permitted: [], inheritable: [], bounding: [], ambient: [])
    #expect(sets.effective == 1 << 5)
    #expect(
      sets
        == {
          var s = CapabilitySets(); s.effective = 1 << 5; return s
        }())
  }

  @Test(arguments: ["effective", "permitted", "inheritable", "bounding", "ambient"])
  func unknownNameIsRefusedNamingTheSet(set: String) {
    var lists: [String: [String]] = [
      "effective": ["CAP_KILL"], "permitted": ["CAP_KILL"], "inheritable": [], "bounding": ["CAP_KILL"],
      "ambient": [],
    ]
    lists[set, default: []].append("CAP_NO_SUCH_THING")
    let error = #expect(throws: CapabilityError.self) {
      try CapabilitySets(
        effective: lists["effective"]!, permitted: lists["permitted"]!, inheritable: lists["inheritable"]!,
        bounding: lists["bounding"]!, ambient: lists["ambient"]!)
    }
    #expect(error?.set == set)
    #expect(error?.name == "CAP_NO_SUCH_THING")
    #expect(
      error?.description == "config.json: process.capabilities.\(set): unknown capability \"CAP_NO_SUCH_THING\"")
  }

  /// Names libcap would read only the front of (a typo that must not grant CAP_SYS_ADMIN) included.
  @Test(arguments: [
    "", "CAP_", "CAP SYS_ADMIN", "NO_SUCH_CAP", "-1", "CAP_SYS_ADMIN2", "CAP_KILL,CAP_CHOWN", "CAP_SYS_ADMIN ",
    "CAP_CHOWN\u{0}X",
  ])
  func malformedNamesAreRefused(name: String) {
    let error = #expect(throws: CapabilityError.self) { try CapabilitySets.number(of: name) }
    #expect(error?.name == name)
    #expect(error?.description == "config.json: process.capabilities: unknown capability \"\(name)\"")
  }

  @Test func masksTurnBackIntoNames() {
    #expect(CapabilitySets.names(of: 0).isEmpty)
    #expect(CapabilitySets.names(of: 1 << 0 | 1 << 5 | 1 << 21) == ["CAP_CHOWN", "CAP_KILL", "CAP_SYS_ADMIN"])
  }

  /// Every capability this kernel has goes name → number → name unchanged (libcap 2.66 knows up to 40,
  /// CAP_CHECKPOINT_RESTORE, as do current kernels).
  @Test func everyKernelCapabilityRoundTrips() throws {
    let last = CapabilitySets.lastCapability
    #expect((37...63).contains(last), "cap_last_cap \(last)")
    for bit in 0...min(last, 40) {
      let names = CapabilitySets.names(of: 1 << UInt64(bit))
      #expect(names.count == 1 && names[0].hasPrefix("CAP_"), "bit \(bit): \(names)")
      #expect(try CapabilitySets.number(of: names[0]) == bit)
    }
  }
}
