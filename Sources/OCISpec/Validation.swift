import Glibc

extension Spec {
  /// The namespace types of the specification, with the clone flag that creates each.
  public static let namespaceFlags: [String: Int32] = [
    "pid": 0x2000_0000, "network": 0x4000_0000, "mount": 0x0002_0000, "ipc": 0x0800_0000,
    "uts": 0x0400_0000, "user": 0x1000_0000, "cgroup": 0x0200_0000, "time": 0x80,
  ]

  static let rootfsPropagations: Set<String> = [
    "private", "rprivate", "shared", "rshared", "slave", "rslave", "unbindable", "runbindable",
  ]

  /// Checks what decoding cannot: required sections, absolute paths, known names. The first problem found
  /// is thrown, naming its field.
  public func validate() throws(SpecError) {
    if !hasLazyRoot {
      guard let path = root?.path, !path.isEmpty else {
        throw SpecError(field: "root.path", "required field is missing")
      }
    }
    if let image = annotations?[Self.lazyImageAnnotation], image.isEmpty {
      throw SpecError(field: "annotations.\(Self.lazyImageAnnotation)", "must name an image")
    }
    guard let process else { throw SpecError(field: "process", "required field is missing") }
    guard let first = process.args?.first, !first.isEmpty else {
      throw SpecError(field: "process.args", "must name the program to run")
    }
    guard process.cwd.hasPrefix("/") else {
      throw SpecError(field: "process.cwd", "must be an absolute path, got \"\(process.cwd)\"")
    }
    for (i, limit) in (process.rlimits ?? []).enumerated() {
      guard limit.resource != nil else {
        throw SpecError(field: "process.rlimits[\(i)].type", "unknown resource \"\(limit.type)\"")
      }
      guard limit.soft <= limit.hard else {
        throw SpecError(field: "process.rlimits[\(i)].soft", "greater than hard (\(limit.soft) > \(limit.hard))")
      }
    }
    for (i, mount) in (mounts ?? []).enumerated() where !mount.destination.hasPrefix("/") {
      throw SpecError(field: "mounts[\(i)].destination", "must be an absolute path, got \"\(mount.destination)\"")
    }
    try hooks?.validate()
    try linux?.validate()
    if hostname != nil, !(linux?.namespaces ?? []).contains(where: { $0.type == "uts" && $0.path == nil }) {
      throw SpecError(field: "hostname", "setting a hostname needs a new uts namespace")
    }
  }
}

extension Spec.Linux {
  func validate() throws(SpecError) {
    var seen: Set<String> = []
    for (i, namespace) in (namespaces ?? []).enumerated() {
      guard Spec.namespaceFlags[namespace.type] != nil else {
        throw SpecError(field: "linux.namespaces[\(i)].type", "unknown namespace type \"\(namespace.type)\"")
      }
      guard seen.insert(namespace.type).inserted else {
        throw SpecError(field: "linux.namespaces[\(i)].type", "namespace \"\(namespace.type)\" listed twice")
      }
      if let path = namespace.path, !path.hasPrefix("/") {
        throw SpecError(field: "linux.namespaces[\(i)].path", "must be an absolute path, got \"\(path)\"")
      }
    }
    let newUser = (namespaces ?? []).contains { $0.type == "user" && $0.path == nil }
    if !newUser, !(uidMappings ?? []).isEmpty || !(gidMappings ?? []).isEmpty {
      throw SpecError(field: "linux.uidMappings", "id mappings need a new user namespace")
    }
    if newUser, (uidMappings ?? []).isEmpty || (gidMappings ?? []).isEmpty {
      throw SpecError(field: "linux.uidMappings", "a new user namespace needs uidMappings and gidMappings")
    }
    if let propagation = rootfsPropagation, !Spec.rootfsPropagations.contains(propagation) {
      throw SpecError(field: "linux.rootfsPropagation", "unknown propagation \"\(propagation)\"")
    }
    for (i, device) in (devices ?? []).enumerated() {
      guard ["c", "u", "b", "p"].contains(device.type) else {
        throw SpecError(field: "linux.devices[\(i)].type", "unknown device type \"\(device.type)\"")
      }
      guard device.path.hasPrefix("/dev/") else {
        throw SpecError(field: "linux.devices[\(i)].path", "must be under /dev, got \"\(device.path)\"")
      }
    }
    if let pids = resources?.pids, pids.limit == 0 {
      throw SpecError(field: "linux.resources.pids.limit", "0 would forbid the container's own init")
    }
  }
}

extension Spec.Rlimit {
  /// The setrlimit(2) resource number for `type`, or nil for a name this system does not have.
  public var resource: Int32? {
    let table: [String: Int32] = [
      "RLIMIT_CPU": 0, "RLIMIT_FSIZE": 1, "RLIMIT_DATA": 2, "RLIMIT_STACK": 3, "RLIMIT_CORE": 4,
      "RLIMIT_RSS": 5, "RLIMIT_NPROC": 6, "RLIMIT_NOFILE": 7, "RLIMIT_MEMLOCK": 8, "RLIMIT_AS": 9,
      "RLIMIT_LOCKS": 10, "RLIMIT_SIGPENDING": 11, "RLIMIT_MSGQUEUE": 12, "RLIMIT_NICE": 13,
      "RLIMIT_RTPRIO": 14, "RLIMIT_RTTIME": 15,
    ]
    return table[type]
  }
}

extension Spec.Hooks {
  func validate() throws(SpecError) {
    let phases: [(String, [Spec.Hook]?)] = [
      ("prestart", prestart), ("createRuntime", createRuntime), ("createContainer", createContainer),
      ("startContainer", startContainer), ("poststart", poststart), ("poststop", poststop),
    ]
    for (phase, hooks) in phases {
      for (i, hook) in (hooks ?? []).enumerated() {
        guard hook.path.hasPrefix("/") else {
          throw SpecError(field: "hooks.\(phase)[\(i)].path", "must be an absolute path, got \"\(hook.path)\"")
        }
        if let timeout = hook.timeout, timeout <= 0 {
          throw SpecError(field: "hooks.\(phase)[\(i)].timeout", "must be positive, got \(timeout)")
        }
      }
    }
  }
}
