import ArgumentParser
import Glibc
import LazyFS
import Logging

struct Mount: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "mount",
    abstract: "Mount an image read-only with FUSE (IMAGE: a name, a digest or a unique digest prefix).",
    discussion: """
      Returns once the mount answers, leaving a daemon serving it; `lazyfs umount` ends both. \
      With --foreground, serves in this process until unmounted or interrupted, logging to stderr. \
      A mount point that is already a lazyfs mount is refused.
      """)

  @OptionGroup var storeOptions: StoreOptions
  @Flag(help: "Serve in this process, attached, logging to stderr.") var foreground = false
  @Flag(help: "Let users other than the mounting one in (non-root: needs user_allow_other in /etc/fuse.conf).")
  var allowOther = false
  @Flag(help: "With --allow-other, keep setuid programs and devices working (root; for unreachable mount points).")
  var setuid = false
  @Option(help: "Where the daemon writes its log (default: nowhere).") var logFile: String?
  @Option(help: "Decompressed chunk cache, in MiB.") var cacheMib = 64
  @Option(
    help: """
      Readahead in KiB (0: the kernel's 128): larger reads sequential files in fewer requests, but loads more \
      around each page fault. Default 1024 from a local store; 128 with --remote, where every chunk loaded \
      is fetched and a request's size does not change the fetch unit (a block).
      """)
  var readaheadKb: Int?
  @Option(help: "A published store (`lazyfs publish`) to fetch chunks the local store lacks from, over HTTP(S).")
  var remote: String?
  @Option(help: "Where chunks fetched from --remote are kept.") var cache = MountRequest.defaultRemoteCache
  @Option(help: "The most the --cache may hold (e.g. 512M, 20G); least recently used blocks go first.")
  var cacheMax = "10G"
  @Flag(help: "Serve over /dev/fuse even where the kernel offers FUSE over io_uring (fuse.enable_uring).")
  var noIoUring = false
  @Argument(help: "The image.") var image: String
  @Argument(help: "An existing directory to mount on.") var mountpoint: String

  func run() throws {
    try MountOptions(
      store: storeOptions.path, foreground: foreground, allowOther: allowOther, setuid: setuid, logFile: logFile,
      cacheMib: cacheMib, readaheadKb: readaheadKb, remote: remote, cache: cache, cacheMax: cacheMax,
      noIoUring: noIoUring, image: image, mountpoint: mountpoint
    ).run()
  }
}

/// `lazyfs mount`'s options as plain values: what `Mount` parsed, or what `FastPath` read from a command
/// line of the usual shape without starting ArgumentParser.
struct MountOptions {
  var store: String
  var foreground = false
  var allowOther = false
  var setuid = false
  var logFile: String?
  var cacheMib = 64
  var readaheadKb: Int?
  var remote: String?
  var cache = MountRequest.defaultRemoteCache
  var cacheMax = "10G"
  var noIoUring = false
  var image: String
  var mountpoint: String

  func run() throws {
    let readaheadKb = self.readaheadKb ?? (remote == nil ? 1024 : 0)
    try guarded("mount") {
      guard cacheMib > 0 else { throw ValidationError("--cache-mib must be positive") }
      guard readaheadKb >= 0 else { throw ValidationError("--readahead-kb must not be negative") }
      guard let cacheMaxBytes = parseSize(cacheMax), cacheMaxBytes > 0 else {
        throw ValidationError("--cache-max \"\(cacheMax)\" is not a size (bytes, or a number with K, M, G or T)")
      }
      var request = MountRequest(
        store: store, image: image, mountpoint: mountpoint, allowOther: allowOther,
        cacheCapacity: cacheMib << 20, readaheadKilobytes: readaheadKb)
      request.remote = remote
      request.setuid = setuid
      request.remoteCache = cache
      request.remoteCacheMaxBytes = cacheMaxBytes
      request.ioUring = !noIoUring
      if foreground { return try serve(request, readiness: Readiness.fromEnvironment()) }
      // Check here what the daemon would only report later, then hand it absolute paths: it runs in /.
      let (reference, absoluteMountpoint) = try Mounter.check(request)
      var arguments = [
        "mount", "--foreground", "--store", absolute(store), "--cache-mib", "\(cacheMib)",
        "--readahead-kb", "\(readaheadKb)",
      ]
      if allowOther { arguments.append("--allow-other") }
      if setuid { arguments.append("--setuid") }
      if noIoUring { arguments.append("--no-io-uring") }
      if let remote { arguments += ["--remote", remote, "--cache", absolute(cache), "--cache-max", cacheMax] }
      arguments += [reference, absoluteMountpoint]
      var forked = request
      forked.store = absolute(store)
      forked.image = reference
      forked.mountpoint = absoluteMountpoint
      forked.remoteCache = absolute(cache)
      if try Daemon.fork(
        logFile: logFile.map(absolute),
        serve: { readiness in
          (try? serve(forked, readiness: readiness)) == nil ? 1 : 0
        })
      {
        return
      }
      try Daemon.start(arguments: arguments, logFile: logFile.map(absolute))
    }
  }

  private func serve(_ request: MountRequest, readiness: Readiness?) throws {
    if readiness != nil { _ = chdir("/") }  // a daemon must not keep the caller's directory busy
    LoggingSystem.bootstrap { label in
      var handler = StreamLogHandler.standardError(label: label)
      handler.logLevel = getenv("LAZYFS_LOG_LEVEL").flatMap { Logger.Level(rawValue: String(cString: $0)) } ?? .info
      return handler
    }
    let logger = Logger(label: "lazyfs.mount")
    do {
      try Mounter.serve(request, logger: logger) {
        if let readiness { readiness.ready() } else { logger.info("mounted; ^C or `lazyfs umount` to end") }
      }
    } catch {
      readiness?.failed("\(error)")
      throw error
    }
  }
}

/// "4096", "512K", "20G" (powers of 1024) as bytes.
func parseSize(_ text: String) -> Int64? {
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

/// `path` made absolute against the working directory.
func absolute(_ path: String) -> String {
  if path.hasPrefix("/") { return path }
  guard let cwd = getcwd(nil, 0) else { return path }
  defer { free(cwd) }
  return String(cString: cwd) + "/" + path
}
