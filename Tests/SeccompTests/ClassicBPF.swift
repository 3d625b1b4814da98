// A user-space interpreter for classic BPF, the form libseccomp exports a filter in, so that a compiled
// profile's decision for a system call can be read without loading the filter into any process.

/// `struct seccomp_data` as the kernel hands it to a filter: the call's number, the audit architecture
/// it was made with, and its six arguments.
struct SeccompData: CustomStringConvertible {
  var nr: Int32
  var arch: UInt32
  var instructionPointer: UInt64 = 0
  var args: [UInt64] = Array(repeating: 0, count: 6)

  /// The structure's 32-bit words, each 64-bit field low word first (x86_64 and arm64 are little-endian).
  var words: [UInt32] {
    var out = [UInt32(bitPattern: nr), arch]
    for value in [instructionPointer] + args { out += [UInt32(truncatingIfNeeded: value), UInt32(value >> 32)] }
    return out
  }

  var description: String { "nr \(nr) arch 0x\(String(arch, radix: 16)) args \(args)" }
}

/// The classic BPF machine (linux/filter.h): accumulator A, index X, 16 scratch words, and the
/// instruction classes libseccomp emits. An instruction it does not know, a load outside the data or a
/// jump out of the program is an error rather than a guess.
enum ClassicBPF {
  struct Instruction {
    var code: UInt16
    var jt: UInt8
    var jf: UInt8
    var k: UInt32
  }

  struct Failure: Error, CustomStringConvertible { var description: String }

  /// `struct sock_filter` records, 8 bytes each, in host byte order.
  static func instructions(_ bytes: [UInt8]) throws -> [Instruction] {
    guard !bytes.isEmpty, bytes.count % 8 == 0 else { throw Failure(description: "\(bytes.count) bytes") }
    return stride(from: 0, to: bytes.count, by: 8).map { at in
      func word(_ offset: Int, _ size: Int) -> UInt32 {
        (0..<size).reduce(0) { $0 | UInt32(bytes[at + offset + $1]) << (8 * UInt32($1)) }
      }
      return Instruction(code: UInt16(word(0, 2)), jt: bytes[at + 2], jf: bytes[at + 3], k: word(4, 4))
    }
  }

  /// The filter's return value (SECCOMP_RET_*) for `data`.
  static func run(_ bytes: [UInt8], _ data: SeccompData) throws -> UInt32 {
    let program = try instructions(bytes)
    let words = data.words
    var (a, x): (UInt32, UInt32) = (0, 0)
    var memory = [UInt32](repeating: 0, count: 16)
    var pc = 0
    func load(_ offset: UInt32) throws -> UInt32 {
      guard offset % 4 == 0, Int(offset / 4) < words.count else { throw Failure(description: "load at \(offset)") }
      return words[Int(offset / 4)]
    }
    func scratch(_ k: UInt32) throws -> Int {
      guard k < 16 else { throw Failure(description: "scratch word \(k)") }
      return Int(k)
    }
    while pc < program.count {
      let i = program[pc]
      pc += 1
      let operand = i.code & 0x08 != 0 ? x : i.k
      switch (i.code & 0x07, i.code) {
      case (0x00, 0x20): a = try load(i.k)  // ld [k]
      case (0x00, 0x00): a = i.k  // ld #k
      case (0x00, 0x60): a = memory[try scratch(i.k)]  // ld M[k]
      case (0x00, 0x80): a = UInt32(words.count * 4)  // ld #len
      case (0x01, 0x01): x = i.k  // ldx #k
      case (0x01, 0x61): x = memory[try scratch(i.k)]  // ldx M[k]
      case (0x01, 0x81): x = UInt32(words.count * 4)  // ldx #len
      case (0x02, 0x02): memory[try scratch(i.k)] = a  // st M[k]
      case (0x03, 0x03): memory[try scratch(i.k)] = x  // stx M[k]
      case (0x04, _): a = try alu(i.code & 0xF0, a, operand)
      case (0x05, 0x05): pc += Int(i.k)  // ja
      case (0x05, _):
        let taken: Bool
        switch i.code & 0xF0 {
        case 0x10: taken = a == operand  // jeq
        case 0x20: taken = a > operand  // jgt
        case 0x30: taken = a >= operand  // jge
        case 0x40: taken = a & operand != 0  // jset
        default: throw Failure(description: "jump 0x\(String(i.code, radix: 16)) at \(pc - 1)")
        }
        pc += Int(taken ? i.jt : i.jf)
      case (0x06, 0x06): return i.k  // ret #k
      case (0x06, 0x16): return a  // ret a
      case (0x07, 0x07): x = a  // tax
      case (0x07, 0x87): a = x  // txa
      default: throw Failure(description: "opcode 0x\(String(i.code, radix: 16)) at \(pc - 1)")
      }
    }
    throw Failure(description: "ran off the end of the program")
  }

  static func alu(_ op: UInt16, _ a: UInt32, _ b: UInt32) throws -> UInt32 {
    switch op {
    case 0x00: return a &+ b
    case 0x10: return a &- b
    case 0x20: return a &* b
    case 0x30 where b != 0: return a / b
    case 0x40: return a | b
    case 0x50: return a & b
    case 0x60: return b < 32 ? a << b : 0
    case 0x70: return b < 32 ? a >> b : 0
    case 0x80: return 0 &- a
    case 0x90 where b != 0: return a % b
    case 0xA0: return a ^ b
    default: throw Failure(description: "alu 0x\(String(op, radix: 16)) with \(b)")
    }
  }
}
