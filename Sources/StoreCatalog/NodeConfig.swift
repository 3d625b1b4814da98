import Glibc
import JSON
import LinuxSystem
import Synchronization

/// The node's configuration, `/etc/lazyfs/lazyfs.toml` (or `$LAZYFS_CONFIG`): defaults that `lazyfs` and
/// crun-fast both take where a flag, an annotation or an environment variable does not say otherwise.
///
/// ```toml
/// store = "/var/lib/lazyfs"          # the store (else $LAZYFS_STORE, else /var/lib/lazyfs)
/// [remote]
/// url = "https://cdn.example/lazyfs" # a published store; images the store lacks come from it
/// cache = "/var/cache/lazyfs/remote" # where fetched blocks are kept (else $LAZYFS_REMOTE_CACHE)
/// cache-max = "20G"                  # bytes, or a size with K, M, G or T
/// timeout = 10                       # seconds one request may take, retries included
/// [prefetch]
/// enabled = true                     # replay images' profiles (false: --prefetch off)
/// budget = "1G"                      # the most page cache a prefetch fills
/// ```
///
/// Only `lazyfs-config` parses TOML (with TOMLKit, which brings Foundation: crun-fast and lazyfs stay
/// without it, for their start time). It prints the values as JSON, which is kept in
/// `/run/lazyfs/node-config.json` with the file's identity (device, inode, size, mtime): a process reads
/// that, and runs `lazyfs-config` again only when the file changed. A file that cannot be read or parsed is
/// `NodeConfigError`, naming the file, the line and the key.
public struct NodeConfig: Sendable, Equatable {
  public var store: String?
  public var remoteURL: String?
  public var remoteCache: String?
  public var remoteCacheMaxBytes: Int64?
  public var remoteTimeoutSeconds: Double?
  public var prefetchEnabled: Bool?
  public var prefetchBudgetBytes: Int64?

  public init() {}

  public static let defaultPath = "/etc/lazyfs/lazyfs.toml"
  public static let environmentVariable = "LAZYFS_CONFIG"
  static let sidecar = "/run/lazyfs/node-config.json"

  /// The configuration this process uses, read once: from `$LAZYFS_CONFIG` (which must exist), else from
  /// /etc/lazyfs/lazyfs.toml when it exists, else none (every value nil).
  public static func current() throws(NodeConfigError) -> NodeConfig {
    try loaded.withLock { cached throws(NodeConfigError) in
      if let cached { return try cached.get() }
      let result = Result { () throws(NodeConfigError) in try load() }
      cached = result
      return try result.get()
    }
  }

  /// The configuration if it could be read, else none: for defaults in places that cannot fail, once the
  /// command has called `current()` and stopped on its error.
  public static var orNone: NodeConfig { (try? current()) ?? NodeConfig() }

  private static let loaded = Mutex<Result<NodeConfig, NodeConfigError>?>(nil)

  static func load() throws(NodeConfigError) -> NodeConfig {
    let explicit = getenv(environmentVariable).map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 }
    let path = explicit ?? defaultPath
    var st = stat()
    guard stat(path, &st) == 0 else {
      let e = Errno.current
      if e == .ENOENT && explicit == nil { return NodeConfig() }
      throw NodeConfigError(file: path, message: "\(SystemError("stat", path: path, errno: e))")
    }
    let identity = "\(st.st_dev):\(st.st_ino):\(st.st_size):\(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec)"
    if let kept = try? Files.read(sidecar), let json = try? JSONValue(parsing: kept),
      let f = try? JSONFields(json, path: ""), (try? f.string("file")) == path,
      (try? f.string("identity")) == identity, let config = try? NodeConfig(json: json)
    {
      return config
    }
    let json = try parse(path)
    let config: NodeConfig
    do { config = try NodeConfig(json: json) } catch {
      throw NodeConfigError(file: path, message: "lazyfs-config printed unreadable JSON: \(error)")
    }
    if geteuid() == 0 {
      var record = JSONObject()
      record.append("file", .string(path))
      record.append("identity", .string(identity))
      if case .object(let o) = config.json { record.members += o.members }
      try? Files.makeDirectories(Files.dirname(of: sidecar), mode: 0o755)
      try? Files.writeAtomically(sidecar, JSONValue.object(record).encoded(), durable: false)
    }
    return config
  }

  /// Runs `lazyfs-config FILE` (beside this executable, or in `$LAZYFS_BIN`) for the file's values.
  static func parse(_ path: String) throws(NodeConfigError) -> JSONValue {
    do {
      let tool = try helperPath()
      let pipe = try FileDescriptor.pipe()
      var configuration = ChildProcess.Configuration(path: tool, arguments: ["lazyfs-config", path])
      configuration.stdout = .descriptor(pipe.write.raw)
      configuration.stderr = .descriptor(pipe.write.raw)
      let child = try ChildProcess(configuration)
      let readEnd = pipe.read
      _ = consume pipe.write
      let exit = try child.wait(timeout: 30, output: readEnd.raw)
      let text = String(decoding: exit.output, as: UTF8.self)
      guard exit.succeeded else {
        let line = exit.lastLine ?? exit.describe(timeout: 30)
        let own = "node configuration \(path): "
        throw NodeConfigError(file: path, message: line.hasPrefix(own) ? String(line.dropFirst(own.count)) : line)
      }
      return try JSONValue(parsing: Array(text.utf8))
    } catch let e as NodeConfigError {
      throw e
    } catch {
      throw NodeConfigError(file: path, message: "\(error)")
    }
  }

  static func helperPath() throws -> String {
    var directory: String
    if let env = getenv("LAZYFS_BIN"), env.pointee != 0 {
      directory = String(cString: env)
    } else {
      guard let resolved = realpath("/proc/self/exe", nil) else {
        throw SystemError("realpath", path: "/proc/self/exe")
      }
      directory = Files.dirname(of: String(cString: resolved))
      free(resolved)
    }
    let path = directory + "/lazyfs-config"
    guard access(path, X_OK) == 0 else {
      throw MountRequestError("no lazyfs-config executable at \(path) to read the node configuration with")
    }
    return path
  }
}

/// The node configuration file is unreadable or wrong: `FILE:LINE: key KEY: what` (line and key where known).
public struct NodeConfigError: Error, CustomStringConvertible, Sendable, Equatable {
  public let file: String
  public let message: String
  public init(file: String, message: String) {
    self.file = file
    self.message = message
  }
  public var description: String { "node configuration \(file): \(message)" }
}

extension NodeConfig {
  /// The values as `lazyfs-config` prints them (absent ones left out).
  public var json: JSONValue {
    var o = JSONObject()
    o.append("store", store.map(JSONValue.string))
    o.append("remoteURL", remoteURL.map(JSONValue.string))
    o.append("remoteCache", remoteCache.map(JSONValue.string))
    o.append("remoteCacheMaxBytes", remoteCacheMaxBytes.map { .int($0) })
    o.append("remoteTimeoutSeconds", remoteTimeoutSeconds.map(JSONValue.double))
    o.append("prefetchEnabled", prefetchEnabled.map(JSONValue.bool))
    o.append("prefetchBudgetBytes", prefetchBudgetBytes.map { .int($0) })
    return .object(o)
  }

  public init(json: JSONValue) throws(JSONFieldError) {
    let f = try JSONFields(json, path: "")
    store = try f.string(ifPresent: "store")
    remoteURL = try f.string(ifPresent: "remoteURL")
    remoteCache = try f.string(ifPresent: "remoteCache")
    remoteCacheMaxBytes = try f.int64(ifPresent: "remoteCacheMaxBytes")
    remoteTimeoutSeconds = try f.double(ifPresent: "remoteTimeoutSeconds")
    prefetchEnabled = try f.bool(ifPresent: "prefetchEnabled")
    prefetchBudgetBytes = try f.int64(ifPresent: "prefetchBudgetBytes")
  }
}
