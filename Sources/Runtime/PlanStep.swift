/// One step of the container's filesystem set-up, run in order by the init between clone and execve
/// (CContainerInit's `struct cfi_step`). Built and checked in Swift, executed in C.
public struct PlanStep: Equatable, Sendable, CustomStringConvertible {
  public enum Kind: Int32, Sendable {
    case mount = 1, bindRemount, mkdir, mkfile, mknod, symlink, pivotRoot, chroot, write, mask, readonly, hooks
  }

  public var kind: Kind
  /// A missing target is skipped rather than failing (masked and read-only paths that may not exist).
  public var optional = false
  public var source: String?
  public var target: String
  public var fstype: String?
  public var data: String?
  public var flags: UInt = 0
  public var mode: UInt32 = 0
  public var uid: UInt32 = 0
  public var gid: UInt32 = 0
  public var dev: UInt64 = 0

  public init(_ kind: Kind, _ target: String) {
    self.kind = kind
    self.target = target
  }

  /// Steps as plans make them (tests spell their expectations with these too).
  public static func mount(
    _ source: String?, _ target: String, _ fstype: String?, _ flags: UInt, _ data: String? = nil
  )
    -> PlanStep
  {
    var step = PlanStep(.mount, target)
    (step.source, step.fstype, step.flags, step.data) = (source, fstype, flags, data)
    return step
  }

  public static func mkdir(_ target: String, mode: UInt32 = 0o755) -> PlanStep {
    var step = PlanStep(.mkdir, target)
    step.mode = mode
    return step
  }

  public static func bindRemount(_ target: String, _ flags: UInt) -> PlanStep {
    var step = PlanStep(.bindRemount, target)
    step.flags = flags
    return step
  }

  public static func symlink(_ source: String, _ target: String) -> PlanStep {
    var step = PlanStep(.symlink, target)
    step.source = source
    return step
  }

  public var description: String {
    var out = "\(kind) \(target)"
    if let source { out += " from \(source)" }
    if let fstype { out += " type \(fstype)" }
    if flags != 0 { out += " flags 0x\(String(flags, radix: 16))" }
    if let data, !data.isEmpty { out += " data \(data)" }
    return out
  }
}
