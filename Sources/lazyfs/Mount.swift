import ArgumentParser
import Glibc
import LazyFS
import Logging
import StoreCatalog

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
  @Option(help: "Decompressed chunk cache, in MiB.") var cacheMib = MountRequest.defaultCacheMib
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
  @Option(help: "Seconds one request to --remote may take, retries included, before the read fails with EIO.")
  var remoteTimeout = MountRequest.defaultRemoteTimeoutSeconds
  @Option(help: "The most the --cache may hold (e.g. 512M, 20G); least recently used blocks go first.")
  var cacheMax = "\(MountRequest.defaultRemoteCacheMaxBytes)"
  @Flag(help: "Serve over /dev/fuse even where the kernel offers FUSE over io_uring (fuse.enable_uring).")
  var noIoUring = false
  @Flag(
    help: """
      Record what the workload reads first into the image's profile (STORE/profiles/HEX, merged with earlier \
      runs). The window closes after --record-idle seconds without a new first read, on \
      `lazyfs profile save MOUNTPOINT`, or at unmount.
      """)
  var record = false
  @Option(help: "Seconds without a new first read that end a --record window.")
  var recordIdle = MountRequest.defaultRecordIdleSeconds
  @Option(
    help: """
      auto: replay the image's profile (from the store, this node, or the remote) if there is one; off; or \
      a profile file. The profile's chunks are fetched ahead of the readers and its pages put in the page \
      cache, within --prefetch-budget.
      """)
  var prefetch = "auto"
  @Option(help: "The most page cache a prefetch fills (e.g. 256M); never more than the memory no one uses.")
  var prefetchBudget = "\(MountRequest.defaultPrefetchBudgetBytes)"
  @Argument(help: "The image.") var image: String
  @Argument(help: "An existing directory to mount on.") var mountpoint: String

  func run() throws {
    var request = MountRequest(store: storeOptions.path, image: image, mountpoint: mountpoint)
    request.foreground = foreground
    request.allowOther = allowOther
    request.setuid = setuid
    request.logFile = logFile
    request.cacheMib = cacheMib
    request.readaheadKb = readaheadKb
    request.remote = remote ?? MountRequest.defaultRemote
    request.remoteCache = cache
    request.ioUring = !noIoUring
    guard let bytes = MountRequest.parseSize(cacheMax) else {
      printError("lazyfs mount: --cache-max \"\(cacheMax)\" is not a size (bytes, or a number with K, M, G or T)")
      throw ExitCode(1)
    }
    request.remoteCacheMaxBytes = bytes
    request.remoteTimeoutSeconds = remoteTimeout
    request.record = record
    request.recordIdleSeconds = recordIdle
    request.prefetch = prefetch
    guard let budget = MountRequest.parseSize(prefetchBudget) else {
      printError(
        "lazyfs mount: --prefetch-budget \"\(prefetchBudget)\" is not a size (bytes, or a number with K, M, G or T)")
      throw ExitCode(1)
    }
    request.prefetchBudgetBytes = budget
    try Self.run(request)
  }

  /// Mounts: checks and resolves the request here (its errors are this command's), then serves it in a
  /// daemon, forked while this process is single-threaded or else started afresh with the request as argv.
  static func run(_ request: MountRequest) throws {
    try guarded("mount") {
      _ = try NodeConfig.current()
      if request.foreground {
        // A daemon started afresh reports a request it cannot serve over the readiness pipe too.
        let readiness = Readiness.fromEnvironment()
        let prepared: PreparedMount
        do {
          prepared = try Mounter.prepare(request)
        } catch {
          readiness?.failed("\(error)")
          throw error
        }
        return try serve(prepared, readiness: readiness)
      }
      let prepared = try Mounter.prepare(request)
      if try Daemon.fork(
        logFile: prepared.request.logFile,
        serve: { readiness in
          (try? serve(prepared, readiness: readiness)) == nil ? 1 : 0
        })
      {
        return
      }
      var daemon = prepared.request
      daemon.foreground = true
      daemon.logFile = nil  // the daemon's stdout and stderr are the log file already
      try Daemon.start(arguments: ["mount"] + daemon.arguments, logFile: prepared.request.logFile)
    }
  }

  private static func serve(_ mount: PreparedMount, readiness: Readiness?) throws {
    if readiness != nil { _ = chdir("/") }  // a daemon must not keep the caller's directory busy
    LoggingSystem.bootstrap { label in
      var handler = StreamLogHandler.standardError(label: label)
      handler.logLevel = getenv("LAZYFS_LOG_LEVEL").flatMap { Logger.Level(rawValue: String(cString: $0)) } ?? .info
      return handler
    }
    let logger = Logger(label: "lazyfs.mount")
    do {
      try Mounter.serve(mount, logger: logger) {
        if let readiness { readiness.ready() } else { logger.info("mounted; ^C or `lazyfs umount` to end") }
      }
    } catch {
      readiness?.failed("\(error)")
      throw error
    }
  }
}
