import CFuse
import Glibc
import JSON
import LinuxSystem

/// What a mount's prefetch did, as `lazyfs stats` shows it.
///
/// Reads that the page cache answers never reach the mount, so the read counters see only what it does
/// not: `readBytesPrefetched` is read bytes whose chunks were in memory before the read asked (the prefetch
/// put them there), `readBytesMissing` is read bytes that waited for a load. With the profile's pages in
/// the page cache (`pageCacheBytes`), both stay small; `readBytesMissing` is what the profile did not
/// foresee, or what came before the prefetch got there.
public struct PrefetchStatistics: Sendable, Equatable {
  /// The profile replayed (its digest); nil when none was (see `error`).
  public var profile: String?
  /// Why no profile is replayed, or what stopped a stage.
  public var error: String?
  /// Range requests the fetch stage planned and made, and the (compressed) bytes it fetched.
  public var fetchRanges: Int64
  public var fetchRequests: Int64
  public var bytesPrefetched: Int64
  /// The profile's distinct chunks and their bytes.
  public var profileChunks: Int64
  public var profileBytes: Int64
  public var readBytesPrefetched: Int64
  public var readBytesMissing: Int64
  /// Read bytes of chunks the profile does not name: what this workload did differently.
  public var readBytesOutsideProfile: Int64
  /// Profile chunk bytes that neither a read nor the page stage has used (yet).
  public var prefetchedBytesNeverRead: Int64
  /// Bytes the prefetch added to the page cache, and its budget for them.
  public var pageCacheBytes: Int64
  public var pageCacheBudgetBytes: Int64
  /// "done", "stopped", "budget of N bytes spent"; nil while the page stage runs.
  public var pages: String?

  public var json: JSONValue {
    var o = JSONObject()
    o.append("profile", profile.map(JSONValue.string))
    o.append("error", error.map(JSONValue.string))
    for (key, value) in [
      ("fetchRanges", fetchRanges), ("fetchRequests", fetchRequests), ("bytesPrefetched", bytesPrefetched),
      ("profileChunks", profileChunks), ("profileBytes", profileBytes), ("readBytesPrefetched", readBytesPrefetched),
      ("readBytesMissing", readBytesMissing), ("readBytesOutsideProfile", readBytesOutsideProfile),
      ("prefetchedBytesNeverRead", prefetchedBytesNeverRead),
      ("pageCacheBytes", pageCacheBytes), ("pageCacheBudgetBytes", pageCacheBudgetBytes),
    ] {
      o.append(key, .int(value))
    }
    o.append("pages", pages.map(JSONValue.string))
    return .object(o)
  }

}

extension PrefetchStatistics {
  init(json: JSONValue, path: String) throws(JSONFieldError) {
    let f = try JSONFields(json, path: path)
    profile = try f.string(ifPresent: "profile")
    error = try f.string(ifPresent: "error")
    fetchRanges = try f.int64("fetchRanges")
    fetchRequests = try f.int64("fetchRequests")
    bytesPrefetched = try f.int64("bytesPrefetched")
    profileChunks = try f.int64("profileChunks")
    profileBytes = try f.int64("profileBytes")
    readBytesPrefetched = try f.int64("readBytesPrefetched")
    readBytesMissing = try f.int64("readBytesMissing")
    readBytesOutsideProfile = try f.int64("readBytesOutsideProfile")
    prefetchedBytesNeverRead = try f.int64("prefetchedBytesNeverRead")
    pageCacheBytes = try f.int64("pageCacheBytes")
    pageCacheBudgetBytes = try f.int64("pageCacheBudgetBytes")
    pages = try f.string(ifPresent: "pages")
  }
}

extension PrefetchCounters {
  var snapshot: PrefetchStatistics {
    state.withLock { s in
      let total = s.chunks.values.reduce(0, +)
      let used = s.used.reduce(Int64(0)) { $0 + (s.chunks[$1] ?? 0) }
      return PrefetchStatistics(
        profile: s.profile, error: s.failure ?? s.fetch?.failure, fetchRanges: Int64(s.fetchRanges),
        fetchRequests: Int64(s.fetch?.requests ?? 0), bytesPrefetched: s.fetch?.bytes ?? 0,
        profileChunks: Int64(s.chunks.count), profileBytes: total, readBytesPrefetched: s.readHitBytes,
        readBytesMissing: s.readMissBytes, readBytesOutsideProfile: s.readOutsideBytes,
        prefetchedBytesNeverRead: total - used, pageCacheBytes: s.pageCacheBytes,
        pageCacheBudgetBytes: s.budget, pages: s.pagesDone)
    }
  }
}

/// `lazyfs profile save MOUNTPOINT`: a getxattr of `attributeName` on the mount's root closes its
/// `--record` window and answers what was saved, as JSON (`path`, `profile`, `runs`, `extents`, or
/// `error`). The same channel as the statistics, for the same reasons (see `MountStatistics`).
public enum ProfileSave {
  public static let attributeName = "lazyfs.profile.save"
  static let answerSize = 4096

  /// Asks the mount at `mountpoint` to save; the answer's members.
  public static func request(mountpoint: String) throws -> JSONValue {
    var buffer = [UInt8](repeating: 0, count: answerSize)
    let n = buffer.withUnsafeMutableBytes { getxattr(mountpoint, attributeName, $0.baseAddress, $0.count) }
    if n < 0 {
      let e = Errno.current
      if e == .ENODATA || e == .ENOTSUP { throw MountError("\(mountpoint): not a lazyfs mount") }
      throw SystemError("getxattr", path: mountpoint, errno: e)
    }
    do { return try JSONValue(parsing: Array(buffer[0..<n])) } catch {
      throw MountError("\(mountpoint): unreadable answer to \(attributeName)", cause: error)
    }
  }
}
