import CFuse
import Glibc
import JSON
import LinuxSystem

/// A mount's statistics as `lazyfs stats` shows them: JSON answered by the mount itself, to a getxattr of
/// `MountStatistics.attributeName` on its root. An xattr rather than a control socket or a file: it needs no
/// extra path, works from inside a container that sees only the mount, and cannot outlive the mount.
public struct MountStatistics: Sendable, Equatable {
  /// The xattr name. Not in a namespace (`user.` …): the FUSE kernel module passes any name through, and
  /// an image can never carry this one, so it cannot shadow one of the image's own attributes.
  public static let attributeName = "lazyfs.stats"

  public struct Latency: Sendable, Equatable {
    public var p50: Int64
    public var p90: Int64
    public var p99: Int64
    public var max: Int64
    public var mean: Int64
    public var count: Int64
  }

  public var image: String
  public var mountpoint: String
  /// The daemon serving the mount, and the fusermount3 process that unmounts it if the daemon dies.
  public var pid: Int32
  public var unmountHelperPid: Int32?
  public var uptimeSeconds: Double
  public var bytesRead: Int64
  public var readRequests: Int64
  public var chunkLoads: Int64
  public var cacheHits: Int64
  public var sharedLoads: Int64
  public var loadErrors: Int64
  public var cacheBytes: Int64
  public var cacheCapacityBytes: Int64
  public var loadLatencyMicroseconds: Latency
  public var chunksLoaded: Int64
  public var chunksTotal: Int64
  public var bytesLoaded: Int64
  public var bytesTotal: Int64
  /// `bytesLoaded / bytesTotal`: the share of the image's distinct chunk bytes fetched so far.
  public var shareFetched: Double
  /// With `--remote`: what went over the network.
  public var remote: RemoteFetchStatistics?
  /// How requests reach the daemon: "io_uring" (one ring per CPU) or "/dev/fuse".
  public var transport: String?
  /// Requests served through the rings, with io_uring.
  public var ringRequests: Int64?
  /// Unless `--prefetch off`: the profile replayed and how reads fared.
  public var prefetch: PrefetchStatistics?
  /// With `--record`: whether the window is still open.
  public var recording: Bool?

  /// The statistics as JSON text, members sorted by name.
  public func json(pretty: Bool = false) -> [UInt8] {
    let value = json.sortingKeys()
    return pretty ? value.prettyEncoded() : value.encoded()
  }

  public var json: JSONValue {
    var o = JSONObject()
    o.append("image", .string(image))
    o.append("mountpoint", .string(mountpoint))
    o.append("pid", .int(Int(pid)))
    o.append("unmountHelperPid", unmountHelperPid.map { .int(Int($0)) })
    o.append("uptimeSeconds", .double(uptimeSeconds))
    for (key, value) in [
      ("bytesRead", bytesRead), ("readRequests", readRequests), ("chunkLoads", chunkLoads), ("cacheHits", cacheHits),
      ("sharedLoads", sharedLoads), ("loadErrors", loadErrors), ("cacheBytes", cacheBytes),
      ("cacheCapacityBytes", cacheCapacityBytes), ("chunksLoaded", chunksLoaded), ("chunksTotal", chunksTotal),
      ("bytesLoaded", bytesLoaded), ("bytesTotal", bytesTotal),
    ] {
      o.append(key, .int(value))
    }
    let l = loadLatencyMicroseconds
    o.append(
      "loadLatencyMicroseconds",
      .object(
        JSONObject(
          [("p50", l.p50), ("p90", l.p90), ("p99", l.p99), ("max", l.max), ("mean", l.mean), ("count", l.count)].map {
            JSONObject.Member($0.0, .int($0.1))
          })))
    o.append("shareFetched", .double(shareFetched))
    o.append("remote", remote.map(\.json))
    o.append("transport", transport.map(JSONValue.string))
    o.append("ringRequests", ringRequests.map(JSONValue.int))
    o.append("prefetch", prefetch.map(\.json))
    o.append("recording", recording.map(JSONValue.bool))
    return .object(o)
  }

  /// Asks the mount at `mountpoint` for its statistics.
  public static func read(mountpoint: String) throws -> MountStatistics {
    var buffer = [UInt8](repeating: 0, count: 64 << 10)
    let n = buffer.withUnsafeMutableBytes { getxattr(mountpoint, attributeName, $0.baseAddress, $0.count) }
    if n < 0 {
      let e = Errno.current
      if e == .ENODATA || e == .ENOTSUP {
        throw MountError("\(mountpoint): not a lazyfs mount (it has no \(attributeName))")
      }
      throw SystemError("getxattr", path: mountpoint, errno: e)
    }
    do {
      return try MountStatistics(json: try JSONValue(parsing: Array(buffer[0..<n])))
    } catch {
      throw MountError("\(mountpoint): unreadable statistics", cause: error)
    }
  }
}

extension MountStatistics {
  /// Statistics as `json` wrote them.
  public init(json: JSONValue) throws(JSONFieldError) {
    let f = try JSONFields(json, path: "")
    image = try f.string("image")
    mountpoint = try f.string("mountpoint")
    pid = try f.int32("pid")
    unmountHelperPid = try f.value("unmountHelperPid").map { _ throws(JSONFieldError) in try f.int32("unmountHelperPid")
    }
    uptimeSeconds = try f.double("uptimeSeconds")
    bytesRead = try f.int64("bytesRead")
    readRequests = try f.int64("readRequests")
    chunkLoads = try f.int64("chunkLoads")
    cacheHits = try f.int64("cacheHits")
    sharedLoads = try f.int64("sharedLoads")
    loadErrors = try f.int64("loadErrors")
    cacheBytes = try f.int64("cacheBytes")
    cacheCapacityBytes = try f.int64("cacheCapacityBytes")
    loadLatencyMicroseconds = try f.nested("loadLatencyMicroseconds") { value, path throws(JSONFieldError) in
      let l = try JSONFields(value, path: path)
      return Latency(
        p50: try l.int64("p50"), p90: try l.int64("p90"), p99: try l.int64("p99"), max: try l.int64("max"),
        mean: try l.int64("mean"), count: try l.int64("count"))
    }
    chunksLoaded = try f.int64("chunksLoaded")
    chunksTotal = try f.int64("chunksTotal")
    bytesLoaded = try f.int64("bytesLoaded")
    bytesTotal = try f.int64("bytesTotal")
    shareFetched = try f.double("shareFetched")
    remote = try f.nested(ifPresent: "remote", RemoteFetchStatistics.init(json:path:))
    transport = try f.string(ifPresent: "transport")
    ringRequests = try f.int64(ifPresent: "ringRequests")
    prefetch = try f.nested(ifPresent: "prefetch", PrefetchStatistics.init(json:path:))
    recording = try f.bool(ifPresent: "recording")
  }
}
