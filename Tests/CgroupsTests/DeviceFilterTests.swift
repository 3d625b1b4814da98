// The cgroup v2 device program, run in user space: an interpreter for the eBPF instructions DeviceFilter
// emits stands in for the kernel, so the program's decision for every request can be compared with the
// rules' meaning (last match wins, nothing matching means deny) without loading anything.
import Cgroups
import TestSupport
import Testing

/// DeviceFilter against a reference evaluation of the same rules, over many seeded random rule lists and
/// every request of a small device space; the program must also pass the verifier's shape checks (jumps
/// forward and in range, nothing unreachable, nothing falls off the end), or the kernel would refuse it.
@Suite("cgroup v2 device program decisions")
struct DeviceFilterTests {
  /// What the kernel asks: device type, major, minor and the access wanted.
  struct Request: CustomStringConvertible {
    var kind: DeviceRule.Kind
    var major: UInt32
    var minor: UInt32
    var access: DeviceRule.Access

    var description: String { "\(kind.rawValue) \(major):\(minor) access \(access.rawValue)" }
  }

  /// The rules' meaning, written from the specification rather than from the generator: the last rule
  /// matching the request decides. An allow matches only when it grants all the access asked for; a deny
  /// matches when it takes away any of it.
  static func reference(_ rules: [DeviceRule], _ request: Request) -> Bool {
    for rule in rules.reversed() {
      guard rule.kind == .all || rule.kind == request.kind else { continue }
      guard rule.major.map({ $0 == request.major }) ?? true, rule.minor.map({ $0 == request.minor }) ?? true else {
        continue
      }
      if rule.allow ? rule.access.isSuperset(of: request.access) : !rule.access.isDisjoint(with: request.access) {
        return rule.allow
      }
    }
    return false
  }

  static let accesses: [DeviceRule.Access] = (1...7).map { DeviceRule.Access(rawValue: Int32($0)) }

  static let requests: [Request] = [DeviceRule.Kind.char, .block].flatMap { kind in
    (1...3).flatMap { major in
      (1...3).flatMap { minor in accesses.map { Request(kind: kind, major: major, minor: minor, access: $0) } }
    }
  }

  static func randomRule(_ rng: inout SplitMix64) -> DeviceRule {
    let kinds: [DeviceRule.Kind] = [.all, .char, .char, .block]
    let kind = kinds.randomElement(using: &rng)!
    func number() -> UInt32? {
      kind == .all || Bool.random(using: &rng) ? nil : UInt32.random(in: 1...3, using: &rng)
    }
    let major = number()
    let minor = number()
    return DeviceRule(
      allow: Bool.random(using: &rng), kind: kind, major: major, minor: minor,
      access: accesses.randomElement(using: &rng)!)
  }

  @Test(arguments: [UInt64(1), 2, 3, 4])
  func programAgreesWithTheRules(seed: UInt64) throws {
    var rng = SplitMix64(seed: seed)
    for round in 0..<100 {
      let rules = (0..<Int.random(in: 0...6, using: &rng)).map { _ in Self.randomRule(&rng) }
      let program = DeviceFilter.program(rules)
      try EBPF.checkShape(program)
      for request in Self.requests {
        let decided = try EBPF.run(program, request)
        let expected = Self.reference(rules, request)
        #expect(decided == expected, "seed \(seed) round \(round): \(rules) on \(request)")
        if decided != expected { return }
      }
    }
  }

  /// The rules a container gets by default, deny all then the standard devices, decide as runc's would.
  @Test func defaultContainerRules() throws {
    let texts: [(Bool, String)] = [
      (false, "a *:* rwm"), (true, "c *:* m"), (true, "b *:* m"), (true, "c 136:* rwm"), (true, "c 5:2 rwm"),
      (true, "c 1:3 rwm"), (true, "c 1:9 rwm"), (true, "c 5:0 rwm"),
    ]
    let program = DeviceFilter.program(try texts.map { try DeviceRule(allow: $0.0, $0.1) })
    try EBPF.checkShape(program)
    let cases: [(Request, Bool)] = [
      (Request(kind: .char, major: 1, minor: 3, access: [.read, .write]), true),
      (Request(kind: .char, major: 136, minor: 7, access: [.read, .write]), true),
      (Request(kind: .char, major: 10, minor: 229, access: .mknod), true),
      (Request(kind: .char, major: 10, minor: 229, access: .read), false),
      (Request(kind: .block, major: 8, minor: 0, access: [.read, .mknod]), false),
      (Request(kind: .block, major: 1, minor: 3, access: .read), false),
    ]
    for (request, allowed) in cases { #expect(try EBPF.run(program, request) == allowed, "\(request)") }
  }

  /// Rules before a catch-all are dead: the program is the same as for the catch-all alone.
  @Test func rulesBeforeACatchAllAreDropped() throws {
    let catchAll = DeviceRule(allow: false, kind: .all)
    let dead = [DeviceRule(allow: true, kind: .char, major: 1, minor: 3), DeviceRule(allow: true, kind: .block)]
    #expect(DeviceFilter.program(dead + [catchAll]) == DeviceFilter.program([catchAll]))
    #expect(DeviceFilter.program(dead + [catchAll]) != DeviceFilter.program([catchAll] + dead))
  }

  /// A rule's description is the v1 rule it was parsed from, so a rule seen in an error reads back.
  @Test(arguments: [UInt64(7), 8])
  func descriptionParsesBackToTheRule(seed: UInt64) throws {
    var rng = SplitMix64(seed: seed)
    for _ in 0..<200 {
      let rule = Self.randomRule(&rng)
      let text = rule.description.split(separator: " ", maxSplits: 1)[1]
      #expect(rule.description.hasPrefix(rule.allow ? "allow " : "deny "))
      #expect(try DeviceRule(allow: rule.allow, String(text)) == rule, "\(rule)")
    }
  }

  @Test func parseErrorsQuoteTheRule() {
    let error = #expect(throws: CgroupError.self) { try DeviceRule(allow: true, "c 1:3 rwz") }
    let message = error.map { String(describing: $0) } ?? ""
    #expect(message.contains("\"c 1:3 rwz\"") && message.contains("r, w and m"), "\(message)")
  }
}

/// Enough of the kernel's eBPF for device programs: 32-bit loads from the context, the ALU operations and
/// conditional jumps DeviceFilter uses, and exit. Opcodes are the kernel's (linux/bpf.h), written out here
/// so that a generator using the wrong one fails.
enum EBPF {
  struct Failure: Error, CustomStringConvertible { var description: String }

  static func checkShape(_ program: [BPFInstruction]) throws {
    guard program.last?.code == 0x95 else { throw Failure(description: "does not end in exit") }
    var reachable: Set<Int> = [0]
    for (pc, instruction) in program.enumerated() {
      guard reachable.contains(pc) else { throw Failure(description: "instruction \(pc) is unreachable") }
      if instruction.code == 0x95 { continue }
      reachable.insert(pc + 1)
      if instruction.code & 0x07 == 0x05 {
        let target = pc + 1 + Int(instruction.offset)
        guard instruction.offset >= 0, target < program.count else {
          throw Failure(description: "jump at \(pc) to \(target)")
        }
        reachable.insert(target)
      }
    }
  }

  static func run(_ program: [BPFInstruction], _ request: DeviceFilterTests.Request) throws -> Bool {
    // struct bpf_cgroup_dev_ctx: access_type (type | access << 16), major, minor.
    let context: [UInt32] = [
      UInt32(request.kind == .block ? 1 : 2) | UInt32(request.access.rawValue) << 16, request.major, request.minor,
    ]
    var r = [UInt64](repeating: 0, count: 11)
    var pc = 0
    var steps = 0
    while pc >= 0 && pc < program.count && steps < 10_000 {
      let i = program[pc]
      let (d, s) = (Int(i.destination), Int(i.source))
      let immediate = UInt64(bitPattern: Int64(i.immediate))
      var taken = false
      switch i.code {
      case 0x61:  // ldxw dst, [src + off]: only from the context, which r1 holds at entry
        guard s == 1, i.offset >= 0, i.offset % 4 == 0, Int(i.offset) / 4 < context.count else {
          throw Failure(description: "bad load at \(pc)")
        }
        r[d] = UInt64(context[Int(i.offset) / 4])
      case 0x54: r[d] = r[d] & immediate & 0xFFFF_FFFF  // and32 imm
      case 0x74: r[d] = (r[d] & 0xFFFF_FFFF) >> (immediate & 31)  // rsh32 imm
      case 0xBC: r[d] = r[s] & 0xFFFF_FFFF  // mov32 reg
      case 0xB7: r[d] = immediate  // mov64 imm
      case 0x15: taken = r[d] == immediate  // jeq imm
      case 0x55: taken = r[d] != immediate  // jne imm
      case 0x5D: taken = r[d] != r[s]  // jne reg
      case 0x95:  // exit
        guard r[0] <= 1 else { throw Failure(description: "returns \(r[0])") }
        return r[0] == 1
      default: throw Failure(description: "opcode 0x\(String(i.code, radix: 16)) at \(pc)")
      }
      pc += 1 + (taken ? Int(i.offset) : 0)
      steps += 1
    }
    throw Failure(description: "left the program at \(pc)")
  }
}
