import JSON

// Hand-written mapping from parsed JSON onto the types of Linux.swift; see SpecJSON.swift.

extension Spec.Linux {
  public init(json: JSONValue, path: String) throws(JSONFieldError) {
    let f = try JSONFields(json, path: path)
    namespaces = try f.array(ifPresent: "namespaces", Spec.Namespace.init(json:path:))
    uidMappings = try f.array(ifPresent: "uidMappings", Spec.IDMapping.init(json:path:))
    gidMappings = try f.array(ifPresent: "gidMappings", Spec.IDMapping.init(json:path:))
    devices = try f.array(ifPresent: "devices", Spec.Device.init(json:path:))
    cgroupsPath = try f.string(ifPresent: "cgroupsPath")
    resources = try f.nested(ifPresent: "resources", Spec.Resources.init(json:path:))
    rootfsPropagation = try f.string(ifPresent: "rootfsPropagation")
    seccomp = try f.nested(ifPresent: "seccomp", Spec.Seccomp.init(json:path:))
    sysctl = try f.stringMap(ifPresent: "sysctl")
    maskedPaths = try f.strings(ifPresent: "maskedPaths")
    readonlyPaths = try f.strings(ifPresent: "readonlyPaths")
  }
}

extension Spec.Namespace {
  public init(json: JSONValue, path: String) throws(JSONFieldError) {
    let f = try JSONFields(json, path: path)
    self.init(type: try f.string("type"), path: try f.string(ifPresent: "path"))
  }
}

extension Spec.IDMapping {
  public init(json: JSONValue, path: String) throws(JSONFieldError) {
    let f = try JSONFields(json, path: path)
    self.init(containerID: try f.uint32("containerID"), hostID: try f.uint32("hostID"), size: try f.uint32("size"))
  }
}

extension Spec.Device {
  public init(json: JSONValue, path: String) throws(JSONFieldError) {
    let f = try JSONFields(json, path: path)
    self.init(
      type: try f.string("type"), path: try f.string("path"), major: try f.int64(ifPresent: "major"),
      minor: try f.int64(ifPresent: "minor"), fileMode: try f.uint32(ifPresent: "fileMode"),
      uid: try f.uint32(ifPresent: "uid"), gid: try f.uint32(ifPresent: "gid"))
  }
}

extension Spec.Resources {
  public init(json: JSONValue, path: String) throws(JSONFieldError) {
    let f = try JSONFields(json, path: path)
    devices = try f.array(ifPresent: "devices", Spec.DeviceRule.init(json:path:))
    memory = try f.nested(ifPresent: "memory", Spec.Memory.init(json:path:))
    cpu = try f.nested(ifPresent: "cpu", Spec.CPU.init(json:path:))
    pids = try f.nested(ifPresent: "pids", Spec.Pids.init(json:path:))
    blockIO = try f.nested(ifPresent: "blockIO", Spec.BlockIO.init(json:path:))
  }
}

extension Spec.BlockIO {
  public init(json: JSONValue, path: String) throws(JSONFieldError) {
    let f = try JSONFields(json, path: path)
    weight = try f.uint16(ifPresent: "weight")
    leafWeight = try f.uint16(ifPresent: "leafWeight")
    weightDevice = try f.array(ifPresent: "weightDevice", Spec.WeightDevice.init(json:path:))
    throttleReadBpsDevice = try f.array(ifPresent: "throttleReadBpsDevice", Spec.ThrottleDevice.init(json:path:))
    throttleWriteBpsDevice = try f.array(ifPresent: "throttleWriteBpsDevice", Spec.ThrottleDevice.init(json:path:))
    throttleReadIOPSDevice = try f.array(ifPresent: "throttleReadIOPSDevice", Spec.ThrottleDevice.init(json:path:))
    throttleWriteIOPSDevice = try f.array(
      ifPresent: "throttleWriteIOPSDevice", Spec.ThrottleDevice.init(json:path:))
  }
}

extension Spec.WeightDevice {
  public init(json: JSONValue, path: String) throws(JSONFieldError) {
    let f = try JSONFields(json, path: path)
    major = try f.int64("major")
    minor = try f.int64("minor")
    weight = try f.uint16(ifPresent: "weight")
    leafWeight = try f.uint16(ifPresent: "leafWeight")
  }
}

extension Spec.ThrottleDevice {
  public init(json: JSONValue, path: String) throws(JSONFieldError) {
    let f = try JSONFields(json, path: path)
    major = try f.int64("major")
    minor = try f.int64("minor")
    rate = try f.uint64("rate")
  }
}

extension Spec.DeviceRule {
  public init(json: JSONValue, path: String) throws(JSONFieldError) {
    let f = try JSONFields(json, path: path)
    allow = try f.bool("allow")
    type = try f.string(ifPresent: "type")
    major = try f.int64(ifPresent: "major")
    minor = try f.int64(ifPresent: "minor")
    access = try f.string(ifPresent: "access")
  }
}

extension Spec.Memory {
  public init(json: JSONValue, path: String) throws(JSONFieldError) {
    let f = try JSONFields(json, path: path)
    limit = try f.int64(ifPresent: "limit")
    reservation = try f.int64(ifPresent: "reservation")
    swap = try f.int64(ifPresent: "swap")
    swappiness = try f.uint64(ifPresent: "swappiness")
    disableOOMKiller = try f.bool(ifPresent: "disableOOMKiller")
  }
}

extension Spec.CPU {
  public init(json: JSONValue, path: String) throws(JSONFieldError) {
    let f = try JSONFields(json, path: path)
    shares = try f.uint64(ifPresent: "shares")
    quota = try f.int64(ifPresent: "quota")
    period = try f.uint64(ifPresent: "period")
    cpus = try f.string(ifPresent: "cpus")
    mems = try f.string(ifPresent: "mems")
  }
}

extension Spec.Pids {
  public init(json: JSONValue, path: String) throws(JSONFieldError) {
    self.init(limit: try JSONFields(json, path: path).int64("limit"))
  }
}

extension Spec.Seccomp {
  public init(json: JSONValue, path: String) throws(JSONFieldError) {
    let f = try JSONFields(json, path: path)
    defaultAction = try f.string("defaultAction")
    defaultErrnoRet = try f.uint32(ifPresent: "defaultErrnoRet")
    architectures = try f.strings(ifPresent: "architectures")
    flags = try f.strings(ifPresent: "flags")
    syscalls = try f.array(ifPresent: "syscalls", Spec.Syscall.init(json:path:))
  }
}

extension Spec.Syscall {
  public init(json: JSONValue, path: String) throws(JSONFieldError) {
    let f = try JSONFields(json, path: path)
    self.init(
      names: try f.strings("names"), action: try f.string("action"), errnoRet: try f.uint32(ifPresent: "errnoRet"),
      args: try f.array(ifPresent: "args", Spec.SyscallArg.init(json:path:)))
  }
}

extension Spec.SyscallArg {
  public init(json: JSONValue, path: String) throws(JSONFieldError) {
    let f = try JSONFields(json, path: path)
    index = try f.uint32("index")
    value = try f.uint64("value")
    valueTwo = try f.uint64(ifPresent: "valueTwo")
    op = try f.string("op")
  }
}

extension Spec.Seccomp {
  /// Every field as JSON, in a fixed order: what the compiled-program cache hashes for its key, which
  /// JSONEncoder made cost 0.5 ms of each start with a profile.
  public var json: JSONValue {
    var object = JSONObject()
    object.append("defaultAction", .string(defaultAction))
    object.append("defaultErrnoRet", defaultErrnoRet.map { .number(JSONNumber(UInt64($0))) })
    object.append("architectures", architectures.map(JSONValue.strings))
    object.append("flags", flags.map(JSONValue.strings))
    object.append("syscalls", syscalls.map { .array($0.map(\.json)) })
    return .object(object)
  }
}

extension Spec.Syscall {
  public var json: JSONValue {
    var object = JSONObject()
    object.append("names", .strings(names))
    object.append("action", .string(action))
    object.append("errnoRet", errnoRet.map { .number(JSONNumber(UInt64($0))) })
    object.append("args", args.map { .array($0.map(\.json)) })
    return .object(object)
  }
}

extension Spec.SyscallArg {
  public var json: JSONValue {
    var object = JSONObject()
    object.append("index", .number(JSONNumber(UInt64(index))))
    object.append("value", .number(JSONNumber(value)))
    object.append("valueTwo", valueTwo.map { .number(JSONNumber($0)) })
    object.append("op", .string(op))
    return .object(object)
  }
}
