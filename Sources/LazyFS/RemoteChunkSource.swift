import ChunkStore
import Codecs
import JSON
import RemoteStore

/// Chunks from the local store where it has them, else from a published remote store over HTTP.
///
/// A node that imported some images (or pulled them earlier) shares their chunks with a remote image it
/// mounts: a chunk in the local store is never fetched. What is fetched is checked against its digest by
/// `RemoteImage` and kept in its disk cache, so a second mount of the image on this node fetches nothing.
public struct RemoteChunkSource: ChunkSource {
  public let local: ChunkStore?
  public let remote: RemoteImage

  public init(local: ChunkStore?, remote: RemoteImage) {
    self.local = local
    self.remote = remote
  }

  public func chunk(_ digest: Digest) throws -> [UInt8] {
    if let local, local.contains(digest) { return try local.read(digest) }
    return try remote.chunk(digest)
  }

  public var remoteStatistics: RemoteFetchStatistics? {
    let s = remote.statistics
    let health = remote.client.health
    let ago = health.lastSuccess.map { ContinuousClock.now - $0 }.map {
      Double($0.components.seconds) + Double($0.components.attoseconds) / 1e18
    }
    return RemoteFetchStatistics(
      url: remote.baseURL, requests: Int64(s.requests), bytesFetched: s.bytes, diskCacheHits: Int64(s.cacheHits),
      diskCacheBytes: remote.cacheUsedBytes, diskCacheCapacityBytes: remote.cacheCapacityBytes,
      failures: health.failures, retries: health.retries, lastSuccessSecondsAgo: ago, lastFailure: health.lastFailure,
      deadlineSeconds: remote.client.deadlineSeconds)
  }
}

/// What a mount with `--remote` fetched: block requests over HTTP and the bytes they brought (compressed,
/// as stored), blocks served from the disk cache instead, and the disk cache's fill.
public struct RemoteFetchStatistics: Sendable, Equatable {
  public var url: String
  public var requests: Int64
  public var bytesFetched: Int64
  public var diskCacheHits: Int64
  public var diskCacheBytes: Int64
  public var diskCacheCapacityBytes: Int64
  /// The remote's health: failed attempts, retries made, how long ago a request last succeeded (nil:
  /// none yet in this mount), the last failure, and the deadline each request has.
  public var failures: Int64 = 0
  public var retries: Int64 = 0
  public var lastSuccessSecondsAgo: Double?
  public var lastFailure: String?
  public var deadlineSeconds: Double = 0

  public var json: JSONValue {
    var o = JSONObject()
    o.append("url", .string(url))
    o.append("requests", .int(requests))
    o.append("bytesFetched", .int(bytesFetched))
    o.append("diskCacheHits", .int(diskCacheHits))
    o.append("diskCacheBytes", .int(diskCacheBytes))
    o.append("diskCacheCapacityBytes", .int(diskCacheCapacityBytes))
    o.append("failures", .int(failures))
    o.append("retries", .int(retries))
    o.append("lastSuccessSecondsAgo", lastSuccessSecondsAgo.map(JSONValue.double))
    o.append("lastFailure", lastFailure.map(JSONValue.string))
    o.append("deadlineSeconds", .double(deadlineSeconds))
    return .object(o)
  }

}

extension RemoteFetchStatistics {
  init(json: JSONValue, path: String) throws(JSONFieldError) {
    let f = try JSONFields(json, path: path)
    url = try f.string("url")
    requests = try f.int64("requests")
    bytesFetched = try f.int64("bytesFetched")
    diskCacheHits = try f.int64("diskCacheHits")
    diskCacheBytes = try f.int64("diskCacheBytes")
    diskCacheCapacityBytes = try f.int64("diskCacheCapacityBytes")
    failures = try f.int64(ifPresent: "failures") ?? 0
    retries = try f.int64(ifPresent: "retries") ?? 0
    lastSuccessSecondsAgo = try f.double(ifPresent: "lastSuccessSecondsAgo")
    lastFailure = try f.string(ifPresent: "lastFailure")
    deadlineSeconds = try f.double(ifPresent: "deadlineSeconds") ?? 0
  }
}
