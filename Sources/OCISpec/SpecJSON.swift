import JSON

// Hand-written mapping from parsed JSON onto the types of Spec.swift, used by `Spec.decode` instead of
// JSONDecoder (see `JSONValue` for why). Each initializer reads the fields its type declares, with the
// same optionality, so the result equals what the synthesized `init(from:)` would give.

extension Spec {
  /// A configuration from a parsed config.json; `path` is where it sits (empty for the document).
  public init(json: JSONValue, path: String = "") throws(JSONFieldError) {
    let f = try JSONFields(json, path: path)
    ociVersion = try f.string("ociVersion")
    process = try f.nested(ifPresent: "process", Process.init(json:path:))
    root = try f.nested(ifPresent: "root", Root.init(json:path:))
    hostname = try f.string(ifPresent: "hostname")
    domainname = try f.string(ifPresent: "domainname")
    mounts = try f.array(ifPresent: "mounts", Mount.init(json:path:))
    hooks = try f.nested(ifPresent: "hooks", Hooks.init(json:path:))
    annotations = try f.stringMap(ifPresent: "annotations")
    linux = try f.nested(ifPresent: "linux", Linux.init(json:path:))
  }
}

extension Spec.Process {
  public init(json: JSONValue, path: String) throws(JSONFieldError) {
    let f = try JSONFields(json, path: path)
    terminal = try f.bool(ifPresent: "terminal")
    consoleSize = try f.nested(ifPresent: "consoleSize", Spec.ConsoleSize.init(json:path:))
    user = try f.nested("user", Spec.User.init(json:path:))
    args = try f.strings(ifPresent: "args")
    env = try f.strings(ifPresent: "env")
    cwd = try f.string("cwd")
    capabilities = try f.nested(ifPresent: "capabilities", Spec.Capabilities.init(json:path:))
    rlimits = try f.array(ifPresent: "rlimits", Spec.Rlimit.init(json:path:))
    noNewPrivileges = try f.bool(ifPresent: "noNewPrivileges")
    oomScoreAdj = try f.int(ifPresent: "oomScoreAdj")
    apparmorProfile = try f.string(ifPresent: "apparmorProfile")
    selinuxLabel = try f.string(ifPresent: "selinuxLabel")
  }
}

extension Spec.ConsoleSize {
  public init(json: JSONValue, path: String) throws(JSONFieldError) {
    let f = try JSONFields(json, path: path)
    self.init(height: try f.uint("height"), width: try f.uint("width"))
  }
}

extension Spec.User {
  public init(json: JSONValue, path: String) throws(JSONFieldError) {
    let f = try JSONFields(json, path: path)
    self.init(
      uid: try f.uint32("uid"), gid: try f.uint32("gid"), umask: try f.uint32(ifPresent: "umask"),
      additionalGids: try f.uint32s(ifPresent: "additionalGids"))
  }
}

extension Spec.Capabilities {
  public init(json: JSONValue, path: String) throws(JSONFieldError) {
    let f = try JSONFields(json, path: path)
    bounding = try f.strings(ifPresent: "bounding")
    effective = try f.strings(ifPresent: "effective")
    inheritable = try f.strings(ifPresent: "inheritable")
    permitted = try f.strings(ifPresent: "permitted")
    ambient = try f.strings(ifPresent: "ambient")
  }
}

extension Spec.Rlimit {
  public init(json: JSONValue, path: String) throws(JSONFieldError) {
    let f = try JSONFields(json, path: path)
    self.init(type: try f.string("type"), hard: try f.uint64("hard"), soft: try f.uint64("soft"))
  }
}

extension Spec.Root {
  public init(json: JSONValue, path: String) throws(JSONFieldError) {
    let f = try JSONFields(json, path: path)
    self.path = try f.string(ifPresent: "path")
    readonly = try f.bool(ifPresent: "readonly")
  }
}

extension Spec.Mount {
  public init(json: JSONValue, path: String) throws(JSONFieldError) {
    let f = try JSONFields(json, path: path)
    self.init(
      destination: try f.string("destination"), type: try f.string(ifPresent: "type"),
      source: try f.string(ifPresent: "source"), options: try f.strings(ifPresent: "options"))
  }
}

extension Spec.Hooks {
  public init(json: JSONValue, path: String) throws(JSONFieldError) {
    let f = try JSONFields(json, path: path)
    self.init(
      prestart: try f.array(ifPresent: "prestart", Spec.Hook.init(json:path:)),
      createRuntime: try f.array(ifPresent: "createRuntime", Spec.Hook.init(json:path:)),
      createContainer: try f.array(ifPresent: "createContainer", Spec.Hook.init(json:path:)),
      startContainer: try f.array(ifPresent: "startContainer", Spec.Hook.init(json:path:)),
      poststart: try f.array(ifPresent: "poststart", Spec.Hook.init(json:path:)),
      poststop: try f.array(ifPresent: "poststop", Spec.Hook.init(json:path:)))
  }

  /// The hooks as JSON, for state.json: the members Codable would write, absent ones left out.
  public var json: JSONValue {
    var object = JSONObject()
    for (phase, hooks) in [
      ("prestart", prestart), ("createRuntime", createRuntime), ("createContainer", createContainer),
      ("startContainer", startContainer), ("poststart", poststart), ("poststop", poststop),
    ] {
      object.append(phase, hooks.map { .array($0.map(\.json)) })
    }
    return .object(object)
  }
}

extension Spec.Hook {
  public init(json: JSONValue, path: String) throws(JSONFieldError) {
    let f = try JSONFields(json, path: path)
    self.init(
      path: try f.string("path"), args: try f.strings(ifPresent: "args"), env: try f.strings(ifPresent: "env"),
      timeout: try f.int(ifPresent: "timeout"))
  }

  public var json: JSONValue {
    var object = JSONObject()
    object.append("path", .string(path))
    object.append("args", args.map(JSONValue.strings))
    object.append("env", env.map(JSONValue.strings))
    object.append("timeout", timeout.map { .number(JSONNumber(Int64($0))) })
    return .object(object)
  }
}
