import ArgumentParser
import LazyFS

struct Stats: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "stats",
    abstract: "Show what a mount has read and loaded: bytes, chunk loads, cache hits, latency, share fetched.")
  @Flag(help: "Print JSON.") var json = false
  @Argument(help: "The mount point.") var mountpoint: String

  func run() throws {
    try guarded("stats") {
      let s = try MountStatistics.read(mountpoint: mountpoint)
      if json {
        print(String(decoding: s.json(pretty: true), as: UTF8.self))
        return
      }
      let l = s.loadLatencyMicroseconds
      let lookups = s.chunkLoads + s.cacheHits + s.sharedLoads
      print("image        \(s.image)")
      print("mount        \(s.mountpoint) (pid \(s.pid), up \(format1(s.uptimeSeconds)) s)")
      print("read         \(humanBytes(s.bytesRead)) in \(s.readRequests) requests")
      print(
        "chunks       \(s.chunkLoads) loads, \(s.cacheHits) cache hits, \(s.sharedLoads) shared loads, "
          + "\(s.loadErrors) errors; hit rate \(lookups > 0 ? format1(100 * Double(s.cacheHits) / Double(lookups)) : "0.0") %"
      )
      print("load time    p50 \(l.p50) µs, p90 \(l.p90) µs, p99 \(l.p99) µs, max \(l.max) µs, mean \(l.mean) µs")
      print(
        "fetched      \(s.chunksLoaded) of \(s.chunksTotal) chunks, \(humanBytes(s.bytesLoaded)) of "
          + "\(humanBytes(s.bytesTotal)) (\(format1(100 * s.shareFetched)) %)")
      print("cache        \(humanBytes(s.cacheBytes)) of \(humanBytes(s.cacheCapacityBytes))")
      if let t = s.transport {
        print("transport    \(t)\(s.ringRequests.map { " (\($0) requests through the rings)" } ?? "")")
      }
      if let r = s.remote {
        print(
          "remote       \(r.url): \(humanBytes(r.bytesFetched)) in \(r.requests) requests, \(r.diskCacheHits) disk cache hits"
        )
        print("disk cache   \(humanBytes(r.diskCacheBytes)) of \(humanBytes(r.diskCacheCapacityBytes))")
        let last = r.lastSuccessSecondsAgo.map { "last success \(format1($0)) s ago" } ?? "no success yet"
        print(
          "health       \(r.failures) failed attempts, \(r.retries) retries, \(last); deadline \(format1(r.deadlineSeconds)) s"
            + (r.lastFailure.map { "; last failure: \($0)" } ?? ""))
      }
      if let p = s.prefetch {
        if let profile = p.profile {
          print(
            "prefetch     \(profile.prefix(23)): \(p.profileChunks) chunks, \(humanBytes(p.profileBytes)); "
              + "fetched \(humanBytes(p.bytesPrefetched)) in \(p.fetchRequests) of \(p.fetchRanges) ranges; "
              + "pages \(p.pages ?? "running")")
          print(
            "page cache   \(humanBytes(p.pageCacheBytes)) added (budget \(humanBytes(p.pageCacheBudgetBytes)))")
          print(
            "reads        \(humanBytes(p.readBytesPrefetched)) prefetched, \(humanBytes(p.readBytesMissing)) waited, "
              + "\(humanBytes(p.readBytesOutsideProfile)) outside the profile; "
              + "\(humanBytes(p.prefetchedBytesNeverRead)) of the profile unused")
        }
        if let error = p.error { print("prefetch     \(error)") }
      }
      if let recording = s.recording { print("recording    \(recording ? "open" : "saved or closed")") }
    }
  }
}
