import ArgumentParser
import Codecs
import Glibc
import ImageIndex
import RemoteStore
import StoreCatalog

struct Pull: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "pull",
    abstract: "Fetch an image from a remote into the node's cache ahead of its first mount.",
    discussion: """
      Fetches the image's index, pack list, pack indexes and profile (a later mount by digest then makes no \
      request), and with --all every block of its chunks, into the --cache a mount with --remote reads (checked \
      against their digests on the way). The last stdout line is the image digest.
      """)
  @Option(help: "The published store to fetch from.") var remote: String
  @Option(help: "The cache to fill.") var cache = MountRequest.defaultRemoteCache
  @Option(help: "The most the cache may hold (e.g. 512M, 20G).")
  var cacheMax = "\(MountRequest.defaultRemoteCacheMaxBytes)"
  @Flag(help: "Fetch every chunk too, not only what a mount needs to open the image.") var all = false
  @Argument(help: "The image: a full digest, or a name the remote publishes.") var image: String

  func run() throws {
    try guarded("pull") {
      guard let maxBytes = MountRequest.parseSize(cacheMax), maxBytes > 0 else {
        throw ValidationError("--cache-max \"\(cacheMax)\" is not a size (bytes, or a number with K, M, G or T)")
      }
      let disk = try DiskCache(directory: StoreLocation.absolute(cache), maxBytes: maxBytes)
      let opened = try RemoteImage(url: remote, reference: image, cache: disk)
      // The profile too, asked for again: a mount takes the cached one (or its absence) without asking.
      _ = try opened.profile(refresh: true)
      if all {
        let chunks = try ImageIndex(bytes: opened.indexBytes).chunks
        let tty = isatty(2) == 1
        if tty { printProgress("fetching \(chunks.count) chunks") }
        // Coalesced range requests, eight at once; then every chunk is read back and checked.
        let outcome = opened.prefetchJob(chunks).run(parallelism: 8)
        if let failure = outcome.failure { throw ValidationError(failure) }
        for (n, chunk) in chunks.enumerated() {
          _ = try opened.chunk(chunk)
          if tty && (n % 256 == 0 || n == chunks.count - 1) {
            printProgress("\(n + 1)/\(chunks.count) chunks, \(humanBytes(opened.statistics.bytes)) fetched")
          }
        }
        if tty { printProgress("") }
      }
      print(opened.digest)
    }
  }
}
