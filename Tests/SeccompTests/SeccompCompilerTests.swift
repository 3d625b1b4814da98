// linux.seccomp compiled the way the container's init gets it: libseccomp runs in this process (no root,
// nothing loaded), and the exported classic BPF is run by ClassicBPF on made-up system calls, so each
// test reads the filter's verdict rather than its bytes.
import CSeccomp
import JSON
import LinuxSystem
import OCISpec
import Seccomp
import TestSupport
import Testing

/// SECCOMP_RET_* values (linux/seccomp.h): what the kernel does with the call.
enum Verdict {
  static let allow: UInt32 = 0x7fff_0000
  static func errno(_ value: UInt32) -> UInt32 { 0x0005_0000 | value }
}

/// The profile in JSON, as it would stand in config.json's linux.seccomp.
func profile(_ json: String) throws -> Spec.Seccomp {
  try Spec.Seccomp(json: JSONValue(parsing: Array(json.utf8)), path: "linux.seccomp")
}

/// This machine's number for `name` and its own audit architecture.
func call(_ name: String, _ args: [UInt64] = []) -> SeccompData {
  SeccompData(
    nr: seccomp_syscall_resolve_name(name), arch: seccomp_arch_native(),
    args: args + Array(repeating: 0, count: 6 - args.count))
}

/// What a profile decides: compiled, then each call run through the filter.
@Suite("Seccomp profile compilation")
struct SeccompCompilerTests {
  func verdict(_ program: [UInt8], _ data: SeccompData) throws -> UInt32 { try ClassicBPF.run(program, data) }

  @Test func allowListWithDefaultErrno() throws {
    let program = try SeccompCompiler.compile(
      profile(
        #"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"}]}"#
      ))
    #expect(program.count % 8 == 0 && program.count >= 5 * 8)
    #expect(try verdict(program, call("read")) == Verdict.allow)
    #expect(try verdict(program, call("write")) == Verdict.allow)
    // The default ERRNO without defaultErrnoRet is EPERM.
    #expect(try verdict(program, call("getpid")) == Verdict.errno(1))
    #expect(try verdict(program, call("openat")) == Verdict.errno(1))
  }

  @Test func errnoRetChoosesTheErrno() throws {
    let byDefault = try SeccompCompiler.compile(
      profile(#"{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38}"#))
    #expect(try verdict(byDefault, call("getpid")) == Verdict.errno(38))
    let byRule = try SeccompCompiler.compile(
      profile(
        #"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}"#
      ))
    #expect(try verdict(byRule, call("mkdirat")) == Verdict.errno(13))
    #expect(try verdict(byRule, call("getpid")) == Verdict.allow)
  }

  /// Each action name becomes its kernel return value (TRACE and ERRNO carry EPERM unless told).
  @Test(
    arguments: [
      ("SCMP_ACT_KILL", UInt32(0)), ("SCMP_ACT_KILL_THREAD", 0), ("SCMP_ACT_KILL_PROCESS", 0x8000_0000),
      ("SCMP_ACT_TRAP", 0x0003_0000), ("SCMP_ACT_ERRNO", 0x0005_0001), ("SCMP_ACT_TRACE", 0x7ff0_0001),
      ("SCMP_ACT_LOG", 0x7ffc_0000),
    ])
  func actionNamesMapToKernelActions(action: String, value: UInt32) throws {
    let program = try SeccompCompiler.compile(
      profile(#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["getpid"], "action": "\#(action)"}]}"#))
    #expect(try verdict(program, call("getpid")) == value)
    #expect(try verdict(program, call("getppid")) == Verdict.allow)
  }

  /// Conditions on different arguments must all hold; several on the same argument are alternatives.
  @Test func argumentConditions() throws {
    let program = try SeccompCompiler.compile(
      profile(
        #"""
        {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
          {"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
          {"names": ["ioctl"], "action": "SCMP_ACT_ALLOW", "args": [
            {"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}, {"index": 1, "value": 21505, "op": "SCMP_CMP_EQ"}]},
          {"names": ["kill"], "action": "SCMP_ACT_ALLOW", "args": [
            {"index": 1, "value": 0, "op": "SCMP_CMP_EQ"}, {"index": 1, "value": 15, "op": "SCMP_CMP_EQ"}]}
        ]}
        """#))
    #expect(try verdict(program, call("personality", [8])) == Verdict.allow)
    #expect(try verdict(program, call("personality", [0xffff_ffff])) == Verdict.errno(1))
    #expect(try verdict(program, call("ioctl", [1, 21505])) == Verdict.allow)
    #expect(try verdict(program, call("ioctl", [1, 21506])) == Verdict.errno(1))
    #expect(try verdict(program, call("ioctl", [2, 21505])) == Verdict.errno(1))
    #expect(try verdict(program, call("kill", [7, 0])) == Verdict.allow)
    #expect(try verdict(program, call("kill", [7, 15])) == Verdict.allow)
    #expect(try verdict(program, call("kill", [7, 9])) == Verdict.errno(1))
  }

  /// 64-bit comparisons look at both halves of the argument, and MASKED_EQ compares `arg & value` with
  /// valueTwo (Docker's clone rule: no namespace flags).
  @Test func wideAndMaskedComparisons() throws {
    let program = try SeccompCompiler.compile(
      profile(
        #"""
        {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
          {"names": ["mmap"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 1, "value": 4294967296, "op": "SCMP_CMP_GT"}]},
          {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
           "args": [{"index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]}
        ]}
        """#))
    #expect(try verdict(program, call("mmap", [0, 0x2_0000_0000])) == Verdict.allow)
    #expect(try verdict(program, call("mmap", [0, 0x1_0000_0001])) == Verdict.allow)
    #expect(try verdict(program, call("mmap", [0, 0x1_0000_0000])) == Verdict.errno(1))
    #expect(try verdict(program, call("mmap", [0, 0xffff_ffff])) == Verdict.errno(1))
    #expect(try verdict(program, call("clone", [0x0001_1200])) == Verdict.allow)
    #expect(try verdict(program, call("clone", [0x1000_0000])) == Verdict.errno(1), "CLONE_NEWUSER")
  }

  /// A call made with an architecture the profile does not list is killed, whatever its number.
  @Test func unlistedArchitectureIsKilled() throws {
    let program = try SeccompCompiler.compile(profile(#"{"defaultAction": "SCMP_ACT_ALLOW"}"#))
    #expect(try verdict(program, call("getpid")) == Verdict.allow)
    var foreign = call("getpid")
    foreign.arch = 0x1234_5678
    let result = try verdict(program, foreign)
    #expect(result & 0x7fff_0000 == 0, "a kill action, got 0x\(String(result, radix: 16))")
  }

  /// A listed second architecture is filtered by its own system call numbers.
  @Test func listedArchitectureUsesItsOwnNumbers() throws {
    #if arch(x86_64)
      let (native, other) = ("SCMP_ARCH_X86_64", "SCMP_ARCH_X86")
    #else
      let (native, other) = ("SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM")
    #endif
    let program = try SeccompCompiler.compile(
      profile(
        #"""
        {"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["\#(native)", "\#(other)"],
         "syscalls": [{"names": ["getpid"], "action": "SCMP_ACT_ALLOW"}]}
        """#))
    let token = seccomp_arch_resolve_name(other == "SCMP_ARCH_X86" ? "x86" : "arm")
    #expect(token != 0 && token != seccomp_arch_native())
    let getpid = SeccompData(nr: seccomp_syscall_resolve_name_arch(token, "getpid"), arch: token)
    let getppid = SeccompData(nr: seccomp_syscall_resolve_name_arch(token, "getppid"), arch: token)
    #expect(getpid.nr != call("getpid").nr, "the other architecture numbers it differently")
    #expect(try verdict(program, getpid) == Verdict.allow)
    #expect(try verdict(program, getppid) == Verdict.errno(1))
    #expect(try verdict(program, call("getpid")) == Verdict.allow)
  }

  /// libseccomp refuses a rule with the default action; such a rule changes nothing and is left out.
  @Test func ruleRepeatingTheDefaultIsDropped() throws {
    let bare = try SeccompCompiler.compile(profile(#"{"defaultAction": "SCMP_ACT_ALLOW"}"#))
    let repeated = try SeccompCompiler.compile(
      profile(#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["getpid"], "action": "SCMP_ACT_ALLOW"}]}"#))
    #expect(repeated == bare)
    // A different errno is a different action, and stays.
    let otherErrno = try SeccompCompiler.compile(
      profile(
        #"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["getpid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]}"#
      ))
    #expect(try verdict(otherErrno, call("getpid")) == Verdict.errno(38))
    #expect(try verdict(otherErrno, call("getppid")) == Verdict.errno(1))
  }

  @Test func filterFlags() throws {
    #expect(try SeccompCompiler.flags(profile(#"{"defaultAction": "SCMP_ACT_ALLOW"}"#)) == 0)
    let all = #"["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"]"#
    #expect(try SeccompCompiler.flags(profile(#"{"defaultAction": "SCMP_ACT_ALLOW", "flags": \#(all)}"#)) == 7)
    let log = #"{"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_LOG"]}"#
    #expect(try SeccompCompiler.flags(profile(log)) == 2)
  }
}

/// A profile libseccomp cannot compile is refused before anything starts, with the field at fault and the
/// offending name quoted.
@Suite("Seccomp profile errors")
struct SeccompErrorTests {
  @Test(
    arguments: [
      (#"{"defaultAction": "SCMP_ACT_BOGUS"}"#, "linux.seccomp.defaultAction", #""SCMP_ACT_BOGUS""#),
      (
        #"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}, {"names": ["write", "no_such_call"], "action": "SCMP_ACT_ALLOW"}]}"#,
        "linux.seccomp.syscalls[1].names", #""no_such_call""#
      ),
      (
        #"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_MAYBE"}]}"#,
        "linux.seccomp.syscalls[0].action", #""SCMP_ACT_MAYBE""#
      ),
      (
        #"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_ABOUT"}]}]}"#,
        "linux.seccomp.syscalls[0].args[0].op", #""SCMP_CMP_ABOUT""#
      ),
      (
        #"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]}"#,
        "linux.seccomp.syscalls[0].args[0].index", "must be below 6"
      ),
      (
        #"{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_PDP11"]}"#,
        "linux.seccomp.architectures[1]", #""SCMP_ARCH_PDP11""#
      ),
    ])
  func compileRefuses(json: String, field: String, quoted: String) throws {
    let error = #expect(throws: SeccompError.self) { try SeccompCompiler.compile(profile(json)) }
    #expect(error?.field == field)
    #expect(error?.reason.contains(quoted) == true, "\(String(describing: error))")
    #expect(error?.description == "config.json: \(field): \(error?.reason ?? "")")
  }

  @Test func unknownFlagIsRefused() throws {
    let json = #"{"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_FAST"]}"#
    let error = #expect(throws: SeccompError.self) { try SeccompCompiler.flags(profile(json)) }
    #expect(error == SeccompError(field: "linux.seccomp.flags[1]", #"unknown flag "SECCOMP_FILTER_FLAG_FAST""#))
  }
}
