import CSeccomp
import Glibc
import LinuxSystem
import OCISpec

/// Compiles the `linux.seccomp` section of a config into a classic BPF program with libseccomp. The
/// container's init loads the program with seccomp(2) right before execve, where libseccomp cannot run.
public enum SeccompCompiler {
  /// The program as `struct sock_filter` records, 8 bytes each, in host byte order.
  public static func compile(_ profile: Spec.Seccomp) throws(SeccompError) -> [UInt8] {
    guard let defaultAction = action(profile.defaultAction, errno: profile.defaultErrnoRet) else {
      throw SeccompError(field: "linux.seccomp.defaultAction", "unknown action \"\(profile.defaultAction)\"")
    }
    guard let context = seccomp_init(defaultAction) else {
      throw SeccompError(field: "linux.seccomp", "seccomp_init failed")
    }
    defer { seccomp_release(context) }
    for (i, name) in (profile.architectures ?? []).enumerated() {
      let token = seccomp_arch_resolve_name(architectureName(name))
      guard token != 0 else {
        throw SeccompError(field: "linux.seccomp.architectures[\(i)]", "unknown architecture \"\(name)\"")
      }
      let rc = seccomp_arch_add(context, token)
      guard rc == 0 || rc == -EEXIST else {
        throw SeccompError(field: "linux.seccomp.architectures[\(i)]", "seccomp_arch_add: \(Self.describe(rc))")
      }
    }
    for (i, rule) in (profile.syscalls ?? []).enumerated() {
      try add(rule, at: i, to: context, defaultAction: defaultAction)
    }
    return try export(context)
  }

  /// The seccomp(2) flags named in `linux.seccomp.flags`.
  public static func flags(_ profile: Spec.Seccomp) throws(SeccompError) -> UInt32 {
    var flags: UInt32 = 0
    for (i, name) in (profile.flags ?? []).enumerated() {
      switch name {
      case "SECCOMP_FILTER_FLAG_TSYNC": flags |= 1
      case "SECCOMP_FILTER_FLAG_LOG": flags |= 2
      case "SECCOMP_FILTER_FLAG_SPEC_ALLOW": flags |= 4
      default: throw SeccompError(field: "linux.seccomp.flags[\(i)]", "unknown flag \"\(name)\"")
      }
    }
    return flags
  }

  private static func add(
    _ rule: Spec.Syscall, at i: Int, to context: scmp_filter_ctx, defaultAction: UInt32
  ) throws(SeccompError) {
    guard let ruleAction = action(rule.action, errno: rule.errnoRet) else {
      throw SeccompError(field: "linux.seccomp.syscalls[\(i)].action", "unknown action \"\(rule.action)\"")
    }
    // libseccomp refuses a rule that repeats the default action; it would change nothing anyway.
    if ruleAction == defaultAction { return }
    var conditions: [scmp_arg_cmp] = []
    for (j, arg) in (rule.args ?? []).enumerated() {
      guard let op = comparison(arg.op) else {
        throw SeccompError(field: "linux.seccomp.syscalls[\(i)].args[\(j)].op", "unknown operator \"\(arg.op)\"")
      }
      guard arg.index < 6 else {
        throw SeccompError(field: "linux.seccomp.syscalls[\(i)].args[\(j)].index", "must be below 6")
      }
      conditions.append(scmp_arg_cmp(arg: arg.index, op: op, datum_a: arg.value, datum_b: arg.valueTwo ?? 0))
    }
    // Conditions on distinct arguments form one rule (all must hold); several on the same argument are
    // alternatives, one rule each, as runc reads the specification.
    let distinct = Set(conditions.map(\.arg)).count == conditions.count
    let groups: [[scmp_arg_cmp]] = distinct ? [conditions] : conditions.map { [$0] }
    for name in rule.names {
      let number = seccomp_syscall_resolve_name(name)
      guard number != cs_error_syscall() else {
        throw SeccompError(field: "linux.seccomp.syscalls[\(i)].names", "unknown system call \"\(name)\"")
      }
      for group in groups {
        let rc = group.withUnsafeBufferPointer {
          seccomp_rule_add_array(context, ruleAction, number, UInt32($0.count), $0.baseAddress)
        }
        guard rc == 0 else {
          throw SeccompError(field: "linux.seccomp.syscalls[\(i)]", "adding \(name): \(Self.describe(rc))")
        }
      }
    }
  }

  private static func export(_ context: scmp_filter_ctx) throws(SeccompError) -> [UInt8] {
    let raw = cs_memfd()
    guard raw >= 0 else { throw SeccompError(field: "linux.seccomp", "memfd_create: \(describe(-errno))") }
    let memfd = FileDescriptor(adopting: raw)
    let fd = memfd.raw
    let rc = seccomp_export_bpf(context, fd)
    guard rc == 0 else { throw SeccompError(field: "linux.seccomp", "seccomp_export_bpf: \(describe(rc))") }
    let size = Int(lseek(fd, 0, SEEK_END))
    var bytes = [UInt8](repeating: 0, count: max(size, 0))
    let got = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
    guard got == size, size % 8 == 0, size > 0 else {
      throw SeccompError(field: "linux.seccomp", "exported program has a bad size \(size)")
    }
    return bytes
  }

  static func action(_ name: String, errno: UInt32?) -> UInt32? {
    switch name {
    case "SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD": cs_act_kill_thread()
    case "SCMP_ACT_KILL_PROCESS": cs_act_kill_process()
    case "SCMP_ACT_TRAP": cs_act_trap()
    case "SCMP_ACT_ERRNO": cs_act_errno(UInt16(truncatingIfNeeded: errno ?? UInt32(EPERM)))
    case "SCMP_ACT_TRACE": cs_act_trace(UInt16(truncatingIfNeeded: errno ?? UInt32(EPERM)))
    case "SCMP_ACT_ALLOW": cs_act_allow()
    case "SCMP_ACT_LOG": cs_act_log()
    default: nil
    }
  }

  static func comparison(_ name: String) -> scmp_compare? {
    switch name {
    case "SCMP_CMP_NE": SCMP_CMP_NE
    case "SCMP_CMP_LT": SCMP_CMP_LT
    case "SCMP_CMP_LE": SCMP_CMP_LE
    case "SCMP_CMP_EQ": SCMP_CMP_EQ
    case "SCMP_CMP_GE": SCMP_CMP_GE
    case "SCMP_CMP_GT": SCMP_CMP_GT
    case "SCMP_CMP_MASKED_EQ": SCMP_CMP_MASKED_EQ
    default: nil
    }
  }

  /// `SCMP_ARCH_X86_64` → `x86_64`, the spelling seccomp_arch_resolve_name wants.
  static func architectureName(_ name: String) -> String {
    (name.hasPrefix("SCMP_ARCH_") ? String(name.dropFirst(10)) : name).lowercased()
  }

  static func describe(_ rc: Int32) -> String { String(cString: strerror(-rc)) }
}

/// A seccomp profile libseccomp cannot compile, naming the field at fault.
public struct SeccompError: Error, CustomStringConvertible, Sendable, Equatable {
  public let field: String
  public let reason: String
  public init(field: String, _ reason: String) {
    self.field = field
    self.reason = reason
  }
  public var description: String { "config.json: \(field): \(reason)" }
}
