/// The parts of an OCI runtime configuration (config.json, runtime-spec 1.2) that crun-fast supports.
/// Fields crun-fast does not know are ignored, as the specification asks; fields it knows are checked
/// for type when decoded and for meaning by `Spec.validate()`.
public struct Spec: Codable, Sendable, Equatable {
  public var ociVersion: String
  public var process: Process?
  public var root: Root?
  public var hostname: String?
  public var domainname: String?
  public var mounts: [Mount]?
  public var hooks: Hooks?
  public var annotations: [String: String]?
  public var linux: Linux?

  public init(
    ociVersion: String, process: Process? = nil, root: Root? = nil, hostname: String? = nil,
    mounts: [Mount]? = nil, linux: Linux? = nil
  ) {
    self.ociVersion = ociVersion
    self.process = process
    self.root = root
    self.hostname = hostname
    self.mounts = mounts
    self.linux = linux
  }

  public struct Process: Codable, Sendable, Equatable {
    public var terminal: Bool?
    public var consoleSize: ConsoleSize?
    public var user: User
    public var args: [String]?
    public var env: [String]?
    public var cwd: String
    public var capabilities: Capabilities?
    public var rlimits: [Rlimit]?
    public var noNewPrivileges: Bool?
    public var oomScoreAdj: Int?
    public var apparmorProfile: String?
    public var selinuxLabel: String?
  }

  /// The terminal's size in characters, when `terminal` is set.
  public struct ConsoleSize: Codable, Sendable, Equatable {
    public var height: UInt
    public var width: UInt

    public init(height: UInt, width: UInt) {
      self.height = height
      self.width = width
    }
  }

  public struct User: Codable, Sendable, Equatable {
    public var uid: UInt32
    public var gid: UInt32
    public var umask: UInt32?
    public var additionalGids: [UInt32]?

    public init(uid: UInt32, gid: UInt32, umask: UInt32? = nil, additionalGids: [UInt32]? = nil) {
      self.uid = uid
      self.gid = gid
      self.umask = umask
      self.additionalGids = additionalGids
    }
  }

  /// Capability names as in capabilities(7), `CAP_` included.
  public struct Capabilities: Codable, Sendable, Equatable {
    public var bounding: [String]?
    public var effective: [String]?
    public var inheritable: [String]?
    public var permitted: [String]?
    public var ambient: [String]?
  }

  public struct Rlimit: Codable, Sendable, Equatable {
    public var type: String
    public var hard: UInt64
    public var soft: UInt64

    public init(type: String, hard: UInt64, soft: UInt64) {
      self.type = type
      self.hard = hard
      self.soft = soft
    }
  }

  public struct Root: Codable, Sendable, Equatable {
    /// Required, unless the root is a lazyfs image (`Spec.lazyImageAnnotation`).
    public var path: String?
    public var readonly: Bool?
  }

  public struct Mount: Codable, Sendable, Equatable {
    public var destination: String
    public var type: String?
    public var source: String?
    public var options: [String]?

    public init(destination: String, type: String? = nil, source: String? = nil, options: [String]? = nil) {
      self.destination = destination
      self.type = type
      self.source = source
      self.options = options
    }
  }

  public struct Hooks: Codable, Sendable, Equatable {
    public var prestart: [Hook]?
    public var createRuntime: [Hook]?
    public var createContainer: [Hook]?
    public var startContainer: [Hook]?
    public var poststart: [Hook]?
    public var poststop: [Hook]?

    public init(
      prestart: [Hook]? = nil, createRuntime: [Hook]? = nil, createContainer: [Hook]? = nil,
      startContainer: [Hook]? = nil, poststart: [Hook]? = nil, poststop: [Hook]? = nil
    ) {
      self.prestart = prestart
      self.createRuntime = createRuntime
      self.createContainer = createContainer
      self.startContainer = startContainer
      self.poststart = poststart
      self.poststop = poststop
    }
  }

  public struct Hook: Codable, Sendable, Equatable {
    public var path: String
    public var args: [String]?
    public var env: [String]?
    public var timeout: Int?

    public init(path: String, args: [String]? = nil, env: [String]? = nil, timeout: Int? = nil) {
      self.path = path
      self.args = args
      self.env = env
      self.timeout = timeout
    }
  }
}
