// Shared by the plan tests (MountPlanTests, DevicePlanTests, InitPlanTests, ResourceMappingTests), which
// build plans from configurations and compare them with the steps written out by hand. None of them needs
// root or the release binary: a plan is plain values, made before anything is created on the host.
import LinuxSystem
import OCISpec
import Runtime

enum PlanFixtures {
  /// A root filesystem that does not exist: SecureJoin finds no symlinks in it, so every container path
  /// lands at `rootfs + path`.
  static let rootfs = "/nonexistent/plan-tests/rootfs"
  static let bundle = "/nonexistent/plan-tests"

  /// The configuration `crun-fast spec` writes, decoded and validated.
  static func defaultSpec() throws -> Spec { try Spec.decode(Array(Spec.defaultJSON.utf8)) }

  /// A configuration given as JSON, decoded and validated as config.json would be.
  static func spec(_ json: String) throws -> Spec { try Spec.decode(Array(json.utf8)) }

  /// The smallest valid configuration, with `linux` fields spliced in (JSON members, without braces).
  static func minimal(linux: String = #""namespaces": [{"type": "mount"}]"#, extra: String = "") throws -> Spec {
    try spec(
      #"""
      {"ociVersion": "1.2.0", "root": {"path": "rootfs"},
       "process": {"user": {"uid": 0, "gid": 0}, "args": ["/bin/true"], "cwd": "/"},
       \#(extra.isEmpty ? "" : extra + ",") "linux": {\#(linux)}}
      """#)
  }

  /// The steps of the mount plan for `spec`.
  static func steps(_ spec: Spec, rootfs: String = rootfs, cgroups: [String: String] = [:]) throws -> [PlanStep] {
    var plan = MountPlan(spec: spec, rootfs: rootfs, bundle: bundle)
    plan.cgroupDirectories = cgroups
    return try plan.steps()
  }
}

/// Expected steps, spelled as the plan spells them.
enum Steps {
  static func mount(_ source: String?, _ target: String, _ type: String?, _ flags: UInt, _ data: String? = nil)
    -> PlanStep
  { PlanStep.mount(source, target, type, flags, data) }

  static func mkdir(_ target: String) -> PlanStep { PlanStep.mkdir(target) }
  static func mkfile(_ target: String) -> PlanStep { PlanStep(.mkfile, target) }
  static func remount(_ target: String, _ flags: UInt) -> PlanStep { PlanStep.bindRemount(target, flags) }
  static func symlink(_ source: String, _ target: String) -> PlanStep { PlanStep.symlink(source, target) }

  /// mknod with the file type bits of `type` (c, b or p) over `permissions`.
  static func mknod(
    _ target: String, _ type: UInt32, _ permissions: UInt32, _ major: UInt32, _ minor: UInt32, uid: UInt32 = 0,
    gid: UInt32 = 0
  ) -> PlanStep {
    var step = PlanStep(.mknod, target)
    step.mode = type | permissions
    step.dev = DeviceNumber.make(major, minor)
    (step.uid, step.gid) = (uid, gid)
    return step
  }

  /// A masked or read-only path: on the container's path, skipped when missing.
  static func optional(_ kind: PlanStep.Kind, _ path: String) -> PlanStep {
    var step = PlanStep(kind, path)
    step.optional = true
    return step
  }

  static let charDevice: UInt32 = 0o020000
  static let blockDevice: UInt32 = 0o060000
  static let fifo: UInt32 = 0o010000
}
