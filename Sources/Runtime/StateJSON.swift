import Cgroups
import JSON
import OCISpec

// state.json read and written by hand: every create writes it and every start, kill, delete and `run`'s
// clean-up reads it, and JSONEncoder/JSONDecoder spent most of their time there instantiating generic
// metadata (see `JSONValue`). The members are those Codable would write, absent optionals left out, so
// files written by either way read back the same.

extension ContainerState {
  /// A state from a parsed state.json. Errors name the field, as for config.json.
  public init(json: JSONValue) throws(JSONFieldError) {
    let f = try JSONFields(json, path: "")
    ociVersion = try f.string("ociVersion")
    id = try f.string("id")
    pid = try f.int32("pid")
    startTime = try f.uint64("startTime")
    bundle = try f.string("bundle")
    rootfs = try f.string("rootfs")
    created = try f.string("created")
    annotations = try f.stringMap(ifPresent: "annotations")
    // Not CgroupVersion(rawValue:): that looks the cases up in an array of StaticString whose metadata
    // the runtime instantiates by mangled name on first use: about half of this initializer's time.
    switch try f.string("cgroupVersion") {
    case "v1": cgroupVersion = .v1
    case "v2": cgroupVersion = .v2
    case let version: throw JSONFieldError(field: "cgroupVersion", "unknown cgroup version \"\(version)\"")
    }
    cgroupPath = try f.string(ifPresent: "cgroupPath")
    ownPidNamespace = try f.bool("ownPidNamespace")
    hooks = try f.value("hooks").map { hooks throws(JSONFieldError) in try Spec.Hooks(json: hooks, path: "hooks") }
    lazyImage = try f.string(ifPresent: "lazyImage")
  }

  /// The state as compact JSON, as state.json holds it.
  public var json: JSONValue {
    var object = JSONObject()
    object.append("ociVersion", .string(ociVersion))
    object.append("id", .string(id))
    object.append("pid", .number(JSONNumber(Int64(pid))))
    object.append("startTime", .number(JSONNumber(startTime)))
    object.append("bundle", .string(bundle))
    object.append("rootfs", .string(rootfs))
    object.append("created", .string(created))
    object.append("annotations", annotations.map { Self.object($0) })
    object.append("cgroupVersion", .string(cgroupVersion.rawValue))
    object.append("cgroupPath", cgroupPath.map(JSONValue.string))
    object.append("ownPidNamespace", .bool(ownPidNamespace))
    object.append("hooks", hooks?.json)
    object.append("lazyImage", lazyImage.map(JSONValue.string))
    return .object(object)
  }

  /// A string map as an object, keys sorted so the same state always gives the same bytes.
  private static func object(_ map: [String: String]) -> JSONValue {
    .object(JSONObject(map.sorted { $0.key < $1.key }.map { JSONObject.Member($0.key, .string($0.value)) }))
  }
}
