/// One device cgroup rule: which devices (type, major, minor; nil numbers match any) and which access to
/// them a rule allows or denies. The same rules the v1 devices controller takes as `c 1:3 rwm`.
public struct DeviceRule: Sendable, Equatable, CustomStringConvertible {
  public enum Kind: Character, Sendable {
    case all = "a"
    case char = "c"
    case block = "b"
  }

  /// The access bits of `struct bpf_cgroup_dev_ctx` (BPF_DEVCG_ACC_*).
  public struct Access: OptionSet, Sendable, Hashable {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }
    public static let mknod = Access(rawValue: 1)
    public static let read = Access(rawValue: 2)
    public static let write = Access(rawValue: 4)
    public static let all: Access = [.mknod, .read, .write]
  }

  public var allow: Bool
  public var kind: Kind
  public var major: UInt32?
  public var minor: UInt32?
  public var access: Access

  public init(allow: Bool, kind: Kind, major: UInt32? = nil, minor: UInt32? = nil, access: Access = .all) {
    (self.allow, self.kind, self.major, self.minor, self.access) = (allow, kind, major, minor, access)
  }

  /// Parses a v1 rule, `TYPE MAJOR:MINOR ACCESS` (`*` for any number) or a bare `a`, as
  /// `CgroupResources.deviceRules` carries them.
  public init(allow: Bool, _ text: String) throws(CgroupError) {
    let fields = text.split(separator: " ", omittingEmptySubsequences: true)
    func bad(_ why: String) -> CgroupError { CgroupError("device rule \"\(text)\": \(why)") }
    guard let first = fields.first, first.count == 1, let kind = Kind(rawValue: first.first!) else {
      throw bad("type must be a, b or c")
    }
    if fields.count == 1 && kind == .all {
      self.init(allow: allow, kind: .all)
      return
    }
    guard fields.count == 3 else { throw bad("expected TYPE MAJOR:MINOR ACCESS") }
    let numbers = fields[1].split(separator: ":", omittingEmptySubsequences: false)
    guard numbers.count == 2 else { throw bad("expected MAJOR:MINOR") }
    // Device numbers are 12 (major) and 20 (minor) bits; the program compares them as 32-bit immediates.
    func number(_ s: Substring) throws(CgroupError) -> UInt32? {
      if s == "*" { return nil }
      guard let n = UInt32(s), n <= UInt32(Int32.max) else { throw bad("\"\(s)\" is not a device number or *") }
      return n
    }
    var access: Access = []
    for c in fields[2] {
      switch c {
      case "r": access.insert(.read)
      case "w": access.insert(.write)
      case "m": access.insert(.mknod)
      default: throw bad("access may only contain r, w and m")
      }
    }
    self.init(allow: allow, kind: kind, major: try number(numbers[0]), minor: try number(numbers[1]), access: access)
  }

  public var description: String {
    let access =
      (access.contains(.read) ? "r" : "") + (access.contains(.write) ? "w" : "")
      + (access.contains(.mknod) ? "m" : "")
    return "\(allow ? "allow" : "deny") \(kind.rawValue) \(major.map(String.init) ?? "*"):"
      + "\(minor.map(String.init) ?? "*") \(access)"
  }

  /// Whether the rule matches every request, so that nothing evaluated after it can matter.
  var matchesEverything: Bool { kind == .all && major == nil && minor == nil && access == .all }
}

/// One eBPF instruction, `struct bpf_insn`: opcode, destination and source registers, offset, immediate.
public struct BPFInstruction: Sendable, Equatable, CustomStringConvertible {
  public var code: UInt8
  public var destination: UInt8
  public var source: UInt8
  public var offset: Int16
  public var immediate: Int32

  public init(code: UInt8, destination: UInt8 = 0, source: UInt8 = 0, offset: Int16 = 0, immediate: Int32 = 0) {
    (self.code, self.destination, self.source, self.offset, self.immediate) =
      (code, destination, source, offset, immediate)
  }

  /// The 8 bytes the kernel reads: the two 4-bit register fields share a byte, destination in the low
  /// nibble (little-endian bitfield order), then the offset and immediate little-endian.
  public var bytes: [UInt8] {
    let off = UInt16(bitPattern: offset)
    let imm = UInt32(bitPattern: immediate)
    return [
      code, destination & 0xF | (source & 0xF) << 4, UInt8(off & 0xFF), UInt8(off >> 8),
      UInt8(imm & 0xFF), UInt8(imm >> 8 & 0xFF), UInt8(imm >> 16 & 0xFF), UInt8(imm >> 24),
    ]
  }

  public var description: String {
    "{code: 0x\(String(code, radix: 16)), dst: r\(destination), src: r\(source), off: \(offset), imm: \(immediate)}"
  }

  // Opcodes: instruction class | operation | source (K: immediate, X: register); sizes for loads.
  static let ldxMemWord: UInt8 = 0x61  // BPF_LDX | BPF_MEM | BPF_W
  static let and32Immediate: UInt8 = 0x54  // BPF_ALU | BPF_AND | BPF_K
  static let rsh32Immediate: UInt8 = 0x74  // BPF_ALU | BPF_RSH | BPF_K
  static let mov32Register: UInt8 = 0xBC  // BPF_ALU | BPF_MOV | BPF_X
  static let mov64Immediate: UInt8 = 0xB7  // BPF_ALU64 | BPF_MOV | BPF_K
  static let jeqImmediate: UInt8 = 0x15  // BPF_JMP | BPF_JEQ | BPF_K
  static let jneImmediate: UInt8 = 0x55  // BPF_JMP | BPF_JNE | BPF_K
  static let jneRegister: UInt8 = 0x5D  // BPF_JMP | BPF_JNE | BPF_X
  static let exit: UInt8 = 0x95  // BPF_JMP | BPF_EXIT
}

/// The cgroup v2 replacement for the devices controller: an eBPF program (BPF_PROG_TYPE_CGROUP_DEVICE)
/// that the kernel runs on every open, mknod and so on of a device node, with
/// `struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }` in r1, where access_type is
/// the device type (BPF_DEVCG_DEV_BLOCK 1, CHAR 2) in its low 16 bits and the access bits above. It
/// returns 1 to allow, 0 to refuse with EPERM.
///
/// As with v1 and in runc and crun, the last rule that matches a request decides and nothing matching
/// means deny. The program is generated the way crun does it: one block per rule, walking the rules
/// backwards, the first block that matches returns its verdict; a rule that matches everything ends the
/// program, since the verifier refuses instructions that can never run.
public enum DeviceFilter {
  /// The program for `rules`, in the order the configuration lists them.
  public static func program(_ rules: [DeviceRule]) -> [BPFInstruction] {
    var program = prologue
    for rule in rules.reversed() {
      program += block(rule)
      if rule.matchesEverything { return program }
    }
    return program + verdict(allow: false)
  }

  /// Registers: r2 = device type, r3 = requested access, r4 = major, r5 = minor. r1 is then scratch.
  static let prologue: [BPFInstruction] = [
    BPFInstruction(code: BPFInstruction.ldxMemWord, destination: 2, source: 1, offset: 0),
    BPFInstruction(code: BPFInstruction.and32Immediate, destination: 2, immediate: 0xFFFF),
    BPFInstruction(code: BPFInstruction.ldxMemWord, destination: 3, source: 1, offset: 0),
    BPFInstruction(code: BPFInstruction.rsh32Immediate, destination: 3, immediate: 16),
    BPFInstruction(code: BPFInstruction.ldxMemWord, destination: 4, source: 1, offset: 4),
    BPFInstruction(code: BPFInstruction.ldxMemWord, destination: 5, source: 1, offset: 8),
  ]

  static func verdict(allow: Bool) -> [BPFInstruction] {
    [
      BPFInstruction(code: BPFInstruction.mov64Immediate, destination: 0, immediate: allow ? 1 : 0),
      BPFInstruction(code: BPFInstruction.exit),
    ]
  }

  /// `if (request matches rule) return rule.allow;`: each test jumps past the block when it fails.
  static func block(_ rule: DeviceRule) -> [BPFInstruction] {
    // (instruction, whether it is a jump to the next block, whose offset is filled in below)
    var tests: [(BPFInstruction, Bool)] = []
    switch rule.kind {
    case .all: break
    case .char, .block:
      let type: Int32 = rule.kind == .block ? 1 : 2
      tests.append((BPFInstruction(code: BPFInstruction.jneImmediate, destination: 2, immediate: type), true))
    }
    if rule.access != .all {
      // r1 = r3 & access. An allow rule matches only when it grants all the access requested (as in
      // v1, where one exception must cover the whole request); a deny rule matches when it takes away
      // any of it, so that denying "w" after allowing "rwm" refuses an open for reading and writing.
      // (crun tests both for "all", which lets such an open through.)
      tests.append((BPFInstruction(code: BPFInstruction.mov32Register, destination: 1, source: 3), false))
      tests.append(
        (BPFInstruction(code: BPFInstruction.and32Immediate, destination: 1, immediate: rule.access.rawValue), false))
      tests.append(
        rule.allow
          ? (BPFInstruction(code: BPFInstruction.jneRegister, destination: 1, source: 3), true)
          : (BPFInstruction(code: BPFInstruction.jeqImmediate, destination: 1, immediate: 0), true))
    }
    if let major = rule.major {
      tests.append((BPFInstruction(code: BPFInstruction.jneImmediate, destination: 4, immediate: Int32(major)), true))
    }
    if let minor = rule.minor {
      tests.append((BPFInstruction(code: BPFInstruction.jneImmediate, destination: 5, immediate: Int32(minor)), true))
    }
    // A jump's offset counts the instructions after it: the rest of the tests and the two of the verdict.
    var out: [BPFInstruction] = []
    for (index, (instruction, isJump)) in tests.enumerated() {
      var instruction = instruction
      if isJump { instruction.offset = Int16(tests.count - index - 1 + 2) }
      out.append(instruction)
    }
    return out + verdict(allow: rule.allow)
  }
}
