import Glibc

/// A `lazyfs mount`: what to mount where, and how. The one value that crosses the process boundaries on
/// a mount's way (crun-fast → `lazyfs mount` → its daemon), and the only form it takes there is argv:
/// `arguments` writes it, `init?(arguments:)` reads it back, with the same code on both sides.
///
/// A new mount option is one field here, one line in each of `arguments` and `init?(arguments:)`, and
/// a line in `lazyfs mount`'s help (`Sources/lazyfs/Mount.swift`).
public struct MountRequest: Sendable, Equatable {
  /// The local store (may be absent with `remote`).
  public var store: String
  /// An image reference; a digest (`sha256:HEX`) once `lazyfs mount` has resolved it.
  public var image: String
  public var mountpoint: String
  /// Serve in this process, attached, logging to stderr.
  public var foreground = false
  public var allowOther = false
  /// Setuid programs and device nodes work even with `allowOther` (root only): for a mount point that
  /// other users cannot reach anyway, such as a container runtime's image mounts under a root-only
  /// directory.
  public var setuid = false
  /// Where the daemon writes its log.
  public var logFile: String?
  /// The decompressed chunk cache, in MiB.
  public var cacheMib = MountRequest.defaultCacheMib
  /// The mount's readahead (root only); 0 keeps the kernel's 128 KiB; nil: 1024 from a local store, 0 with
  /// `remote`, where every chunk loaded is fetched and a request's size does not change the fetch unit, and
  /// while recording (see `effectiveReadaheadKb`).
  public var readaheadKb: Int?
  /// A published store (`lazyfs publish`) to fetch what the local store lacks from, and where to keep
  /// what was fetched, up to how many bytes.
  public var remote: String?
  public var remoteCache = MountRequest.defaultRemoteCache
  public var remoteCacheMaxBytes = MountRequest.defaultRemoteCacheMaxBytes
  /// The most one request to the remote may take, retries included, before the read that needed it
  /// fails with EIO.
  public var remoteTimeoutSeconds = MountRequest.defaultRemoteTimeoutSeconds
  /// Serve over io_uring where the kernel offers it (root, local store only).
  public var ioUring = true
  /// Record what the workload reads first into the image's profile (`lazyfs mount --record`); the
  /// window closes after `recordIdleSeconds` without a new first read, on `lazyfs profile save`, or at
  /// unmount.
  public var record = false
  public var recordIdleSeconds = MountRequest.defaultRecordIdleSeconds
  /// "auto" (the image's profile, when the store, the node or the remote has one), "off", or a profile file.
  public var prefetch = MountRequest.defaultPrefetch
  /// The most page cache the prefetch may fill, in bytes (and never more than the memory no one uses).
  public var prefetchBudgetBytes = MountRequest.defaultPrefetchBudgetBytes

  public static let defaultCacheMib = 64
  public static let defaultRecordIdleSeconds = 3.0

  // Defaults a flag does not set: the node configuration's (`NodeConfig`), else lazyfs's own. Both sides
  // of argv (`arguments`, `init?(arguments:)`) run on the same node, so they agree on them.

  /// The remote a mount uses without `--remote`: the node configuration's, if any.
  public static var defaultRemote: String? { NodeConfig.orNone.remoteURL }
  public static var defaultPrefetch: String { NodeConfig.orNone.prefetchEnabled == false ? "off" : "auto" }
  public static var defaultPrefetchBudgetBytes: Int64 { NodeConfig.orNone.prefetchBudgetBytes ?? 1 << 30 }
  public static var defaultRemoteTimeoutSeconds: Double { NodeConfig.orNone.remoteTimeoutSeconds ?? 10 }
  public static var defaultRemoteCacheMaxBytes: Int64 { NodeConfig.orNone.remoteCacheMaxBytes ?? 10 << 30 }

  /// Where chunks fetched from a remote are kept unless `--cache` says: `$LAZYFS_REMOTE_CACHE`, else the
  /// node configuration's, else /var/cache/lazyfs/remote (a crun-fast root's mount inherits crun-fast's
  /// environment).
  public static var defaultRemoteCache: String {
    if let env = getenv("LAZYFS_REMOTE_CACHE"), env.pointee != 0 { return String(cString: env) }
    return NodeConfig.orNone.remoteCache ?? "/var/cache/lazyfs/remote"
  }

  public init(store: String, image: String, mountpoint: String) {
    self.store = store
    self.image = image
    self.mountpoint = mountpoint
  }

  public var cacheCapacity: Int { cacheMib << 20 }
  /// With `record` too, the kernel's 128 KiB: a recorded profile holds what the reads needed, not what a
  /// 1 MiB readahead around them would have loaded (measured: 22.6 MiB fetched by a replay instead of 16.7 MiB
  /// without a profile), and a remote mount, which replays it, reads with the kernel's readahead anyway.
  public var effectiveReadaheadKb: Int { readaheadKb ?? (remote == nil && !record ? 1024 : 0) }

  /// What cannot be served, as a message naming the option.
  public func validate() throws(MountRequestError) {
    guard cacheMib > 0 else { throw MountRequestError("--cache-mib must be positive") }
    guard (readaheadKb ?? 0) >= 0 else { throw MountRequestError("--readahead-kb must not be negative") }
    guard remoteCacheMaxBytes > 0 else { throw MountRequestError("--cache-max must be positive") }
    guard remoteTimeoutSeconds > 0, remoteTimeoutSeconds <= 3600 else {
      throw MountRequestError("--remote-timeout must be between 0 and 3600 seconds")
    }
    guard recordIdleSeconds > 0, recordIdleSeconds <= 3600 else {
      throw MountRequestError("--record-idle must be between 0 and 3600 seconds")
    }
    guard !prefetch.isEmpty else { throw MountRequestError("--prefetch takes auto, off or a profile file") }
  }

  /// `lazyfs mount`'s arguments after the verb. Options at their defaults are left out; values are
  /// written `--option=value`, so that one starting with '-' (a URL from an annotation, say) is never read
  /// as an option.
  public var arguments: [String] {
    var a = ["--store=\(store)"]
    if foreground { a.append("--foreground") }
    if allowOther { a.append("--allow-other") }
    if setuid { a.append("--setuid") }
    if let logFile { a.append("--log-file=\(logFile)") }
    if cacheMib != Self.defaultCacheMib { a.append("--cache-mib=\(cacheMib)") }
    if let readaheadKb { a.append("--readahead-kb=\(readaheadKb)") }
    if let remote { a.append("--remote=\(remote)") }
    if remoteCache != Self.defaultRemoteCache { a.append("--cache=\(remoteCache)") }
    if remoteCacheMaxBytes != Self.defaultRemoteCacheMaxBytes { a.append("--cache-max=\(remoteCacheMaxBytes)") }
    if !ioUring { a.append("--no-io-uring") }
    if remoteTimeoutSeconds != Self.defaultRemoteTimeoutSeconds {
      a.append("--remote-timeout=\(remoteTimeoutSeconds)")
    }
    if record { a.append("--record") }
    if recordIdleSeconds != Self.defaultRecordIdleSeconds { a.append("--record-idle=\(recordIdleSeconds)") }
    if prefetch != Self.defaultPrefetch { a.append("--prefetch=\(prefetch)") }
    if prefetchBudgetBytes != Self.defaultPrefetchBudgetBytes {
      a.append("--prefetch-budget=\(prefetchBudgetBytes)")
    }
    return a + ["--", image, mountpoint]
  }

  /// Reads `lazyfs mount`'s arguments after the verb, when they have the usual shape: known long options,
  /// each with its value after `=` or as the next argument, flags, and the two positional arguments (after
  /// `--`, everything is one). Anything else — help, a short option, an unknown or repeated option, a value
  /// that looks like an option or is not the number or size wanted, the wrong number of arguments — gives
  /// nil, for the full parser (with its help and its usual errors) to read. The store defaults as
  /// `StoreLocation.path` says.
  public init?(arguments: [String]) {
    guard let parsed = Self.split(arguments, options: Self.valueOptions, flags: Self.flags),
      parsed.positional.count == 2
    else { return nil }
    let (values, flags) = (parsed.values, parsed.flags)
    self.init(
      store: StoreLocation.path(values["store"]), image: parsed.positional[0], mountpoint: parsed.positional[1])
    foreground = flags.contains("foreground")
    allowOther = flags.contains("allow-other")
    setuid = flags.contains("setuid")
    ioUring = !flags.contains("no-io-uring")
    record = flags.contains("record")
    if let text = values["record-idle"] {
      guard let n = Double(text) else { return nil }
      recordIdleSeconds = n
    }
    if let p = values["prefetch"] { prefetch = p }
    if let text = values["remote-timeout"] {
      guard let n = Double(text) else { return nil }
      remoteTimeoutSeconds = n
    }
    if let text = values["prefetch-budget"] {
      guard let n = Self.parseSize(text) else { return nil }
      prefetchBudgetBytes = n
    }
    logFile = values["log-file"]
    remote = values["remote"] ?? Self.defaultRemote
    if let cache = values["cache"] { remoteCache = cache }
    if let text = values["cache-mib"] {
      guard let n = Int(text) else { return nil }
      cacheMib = n
    }
    if let text = values["readahead-kb"] {
      guard let n = Int(text) else { return nil }
      readaheadKb = n
    }
    if let text = values["cache-max"] {
      guard let n = Self.parseSize(text) else { return nil }
      remoteCacheMaxBytes = n
    }
  }

  static let valueOptions: Set<String> = [
    "store", "log-file", "cache-mib", "readahead-kb", "remote", "cache", "cache-max", "record-idle", "prefetch",
    "prefetch-budget", "remote-timeout",
  ]
  static let flags: Set<String> = ["foreground", "allow-other", "setuid", "no-io-uring", "record"]

  /// "4096", "512K", "20G" (powers of 1024) as bytes; nil for anything else.
  public static func parseSize(_ text: String) -> Int64? {
    let units: [Character: Int64] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40]
    var digits = Substring(text.uppercased())
    if digits.hasSuffix("B") { digits = digits.dropLast() }
    var scale: Int64 = 1
    if let last = digits.last, let unit = units[last] {
      scale = unit
      digits = digits.dropLast()
    }
    guard let n = Int64(digits), n >= 0 else { return nil }
    let (bytes, overflow) = n.multipliedReportingOverflow(by: scale)
    return overflow ? nil : bytes
  }

  /// Options taking a value, flags, and the positional arguments, or nil for anything unusual.
  public static func split(_ arguments: [String], options: Set<String>, flags: Set<String>)
    -> (values: [String: String], flags: Set<String>, positional: [String])?
  {
    var values: [String: String] = [:]
    var set: Set<String> = []
    var positional: [String] = []
    var i = 0
    var onlyPositional = false
    while i < arguments.count {
      let argument = arguments[i]
      i += 1
      if onlyPositional || !argument.hasPrefix("-") {
        positional.append(argument)
        continue
      }
      if argument == "--" {
        onlyPositional = true
        continue
      }
      guard argument.hasPrefix("--") else { return nil }
      var name = String(argument.dropFirst(2))
      var value: String?
      if let equals = name.firstIndex(of: "=") {
        value = String(name[name.index(after: equals)...])
        name = String(name[..<equals])
      }
      if flags.contains(name), value == nil {
        guard set.insert(name).inserted else { return nil }
      } else if options.contains(name) {
        if value == nil {
          guard i < arguments.count, !arguments[i].hasPrefix("-") else { return nil }
          value = arguments[i]
          i += 1
        }
        guard values[name] == nil, let value, !value.isEmpty else { return nil }
        values[name] = value
      } else {
        return nil
      }
    }
    return (values, set, positional)
  }
}

/// A mount request's option out of range, as the message `lazyfs mount` prints.
public struct MountRequestError: Error, CustomStringConvertible, Sendable {
  public let description: String
  public init(_ description: String) { self.description = description }
}
