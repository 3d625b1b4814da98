import Glibc
import OCISpec

/// Turns a configuration's root, mounts, devices, masked and read-only paths and sysctls into the
/// ordered steps the init runs: everything before `pivotRoot` on host paths under the rootfs, the rest
/// on container paths. The order is runc's: root propagation, rootfs bind, mounts, devices, pivot,
/// sysctl, read-only paths, masked paths, read-only root.
public struct MountPlan {
  public var spec: Spec
  /// Absolute host path of the root filesystem.
  public var rootfs: String
  /// Absolute host path of the bundle, against which relative mount sources resolve.
  public var bundle: String
  public var userNamespace: Bool
  public var cgroupNamespace: Bool
  /// Host directories of the container's cgroup by the name they get under /sys/fs/cgroup (`memory`,
  /// `cpu`, …; "" for a cgroup2 hierarchy), bound in for a `cgroup` mount.
  public var cgroupDirectories: [String: String] = [:]

  public init(spec: Spec, rootfs: String, bundle: String) {
    self.spec = spec
    self.rootfs = rootfs
    self.bundle = bundle
    let namespaces = spec.linux?.namespaces ?? []
    userNamespace = namespaces.contains { $0.type == "user" }
    cgroupNamespace = namespaces.contains { $0.type == "cgroup" }
  }

  public var mountNamespace: Bool { (spec.linux?.namespaces ?? []).contains { $0.type == "mount" } }

  public func steps() throws(SpecError) -> [PlanStep] {
    guard mountNamespace else {
      guard (spec.mounts ?? []).isEmpty else {
        throw SpecError(field: "mounts", "mounts need a mount namespace (linux.namespaces: mount)")
      }
      return [PlanStep(.chroot, rootfs)]
    }
    var steps: [PlanStep] = []
    // Nothing done in the container's mount namespace may propagate back to the host.
    steps.append(.mount(nil, "/", nil, MountFlag.slave | MountFlag.recursive))
    // pivot_root needs the new root to be a mount point.
    steps.append(.mount(rootfs, rootfs, nil, MountFlag.bind | MountFlag.recursive))
    var devBoundFromHost = false
    let join = SecureJoin(root: rootfs)
    for (i, mount) in (spec.mounts ?? []).enumerated() {
      let target = join.resolve(mount.destination)
      let options = MountOptions(mount.options ?? [])
      if mount.destination == "/dev", options.isBind { devBoundFromHost = true }
      steps += try mountSteps(mount, at: i, target: target, options: options)
    }
    if !devBoundFromHost { steps += deviceSteps(join) }
    steps.append(PlanStep(.pivotRoot, rootfs))
    if let name = spec.linux?.rootfsPropagation, let flags = MountOptions.propagation(name) {
      steps.append(.mount(nil, "/", nil, flags))
    }
    for (key, value) in (spec.linux?.sysctl ?? [:]).sorted(by: { $0.key < $1.key }) {
      var step = PlanStep(.write, "/proc/sys/" + key.split(separator: ".").joined(separator: "/"))
      step.data = value
      steps.append(step)
    }
    for path in spec.linux?.readonlyPaths ?? [] {
      var step = PlanStep(.readonly, path)
      step.optional = true
      steps.append(step)
    }
    for path in spec.linux?.maskedPaths ?? [] {
      var step = PlanStep(.mask, path)
      step.optional = true
      steps.append(step)
    }
    if spec.root?.readonly == true { steps.append(.bindRemount("/", MountFlag.readOnly)) }
    return steps
  }

  private func mountSteps(_ mount: Spec.Mount, at i: Int, target: String, options: MountOptions) throws(SpecError)
    -> [PlanStep]
  {
    var steps: [PlanStep] = []
    let type = mount.type ?? (options.isBind ? "bind" : "")
    let data = options.data.isEmpty ? nil : options.data.joined(separator: ",")
    if type == "bind" || options.isBind {
      guard var source = mount.source, !source.isEmpty else {
        throw SpecError(field: "mounts[\(i)].source", "a bind mount needs a source")
      }
      if !source.hasPrefix("/") { source = bundle + "/" + source }
      var st = stat()
      guard stat(source, &st) == 0 else {
        throw SpecError(field: "mounts[\(i)].source", "\"\(source)\": \(String(cString: strerror(errno)))")
      }
      steps.append((st.st_mode & S_IFMT) == S_IFDIR ? .mkdir(target) : PlanStep(.mkfile, target))
      let bindFlags = MountFlag.bind | (options.flags & MountFlag.recursive)
      steps.append(.mount(source, target, nil, bindFlags))
      // A bind mount takes its other flags only on a remount.
      let rest = options.flags & ~(MountFlag.bind | MountFlag.recursive | MountFlag.remount)
      if rest != 0 { steps.append(.bindRemount(target, rest)) }
    } else if type == "cgroup" {
      steps += cgroupSteps(target: target, options: options)
    } else {
      guard !type.isEmpty else { throw SpecError(field: "mounts[\(i)].type", "required for a non-bind mount") }
      steps.append(.mkdir(target))
      steps.append(.mount(mount.source ?? type, target, type, options.flags, data))
    }
    if options.propagation != 0 { steps.append(.mount(nil, target, nil, options.propagation)) }
    return steps
  }

  /// With a cgroup namespace on cgroup2, a fresh cgroup2 mount shows just the container's subtree.
  /// Otherwise, as runc does, the container's own cgroup directories are bound in (on a tmpfs for v1),
  /// so the container never sees its siblings.
  private func cgroupSteps(target: String, options: MountOptions) -> [PlanStep] {
    let flags = options.flags & ~(MountFlag.bind | MountFlag.recursive)
    if let unified = cgroupDirectories[""] {
      if cgroupNamespace { return [.mkdir(target), .mount("cgroup2", target, "cgroup2", flags)] }
      var steps: [PlanStep] = [.mkdir(target), .mount(unified, target, nil, MountFlag.bind | MountFlag.recursive)]
      if flags != 0 { steps.append(.bindRemount(target, flags)) }
      return steps
    }
    let tmpfsFlags = MountFlag.noSuid | MountFlag.noDev | MountFlag.noExec
    var steps: [PlanStep] = [.mkdir(target), .mount("tmpfs", target, "tmpfs", tmpfsFlags, "mode=755")]
    for (name, directory) in cgroupDirectories.sorted(by: { $0.key < $1.key }) {
      let sub = target + "/" + name
      steps.append(.mkdir(sub))
      steps.append(.mount(directory, sub, nil, MountFlag.bind | MountFlag.recursive))
      if flags != 0 { steps.append(.bindRemount(sub, flags)) }
    }
    if flags & MountFlag.readOnly != 0 { steps.append(.bindRemount(target, tmpfsFlags | MountFlag.readOnly)) }
    return steps
  }
}
