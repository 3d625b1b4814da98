import CFuse
import FoundationEssentials
import Glibc
import LinuxSystem

/// A mount's statistics as `lazyfs stats` shows them: JSON answered by the mount itself, to a getxattr of
/// `MountStatistics.attributeName` on its root. An xattr rather than a control socket or a file: it needs no
/// extra path, works from inside a container that sees only the mount, and cannot outlive the mount.
public struct MountStatistics: Codable, Sendable, Equatable {
  /// The xattr name. Not in a namespace (`user.` …): the FUSE kernel module passes any name through, and
  /// an image can never carry this one, so it cannot shadow one of the image's own attributes.
  public static let attributeName = "lazyfs.stats"

  public struct Latency: Codable, Sendable, Equatable {
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

  public func json(pretty: Bool = false) throws -> [UInt8] {
    let encoder = JSONEncoder()
    encoder.outputFormatting =
      pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
    return Array(try encoder.encode(self))
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
      return try JSONDecoder().decode(MountStatistics.self, from: Data(buffer[0..<n]))
    } catch {
      throw MountError("\(mountpoint): unreadable statistics", cause: error)
    }
  }
}
