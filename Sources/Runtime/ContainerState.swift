import Cgroups
import OCISpec

/// What crun-fast keeps about a container in `<root>/<id>/state.json`: enough for state, start, kill
/// and delete to work without the bundle. The status is not stored; it is worked out from the process.
public struct ContainerState: Codable, Sendable, Equatable {
  public var ociVersion: String
  public var id: String
  public var pid: Int32
  /// The init's start time from /proc/PID/stat, so a recycled pid is never taken for the container.
  public var startTime: UInt64
  public var bundle: String
  public var rootfs: String
  /// RFC 3339, UTC.
  public var created: String
  public var annotations: [String: String]?
  public var cgroupVersion: CgroupVersion
  /// Below each hierarchy's root; nil when the container has no cgroup of its own.
  public var cgroupPath: String?
  /// Whether the container has its own pid namespace: then killing its init kills everything in it.
  public var ownPidNamespace: Bool
  public var hooks: Spec.Hooks?
  /// The lazyfs image the root was mounted from; nil for a root directory in the bundle.
  public var lazyImage: String?
}

/// A container's status in the OCI sense.
public enum ContainerStatus: String, Codable, Sendable {
  case creating, created, running, stopped
}

/// The state document of the OCI runtime specification (plus runc's rootfs, created and owner), as
/// `crun-fast state` prints it and hooks receive it on stdin.
public struct OCIState: Codable, Sendable, Equatable {
  public var ociVersion: String
  public var id: String
  public var pid: Int32
  public var status: ContainerStatus
  public var bundle: String
  public var rootfs: String
  public var created: String
  public var owner: String
  public var annotations: [String: String]?
}
