import Glibc
import LinuxSystem

/// A container's cgroup, in whichever hierarchy layout the machine has. Created before the container's
/// init runs, joined by it while it waits on its parent, and removed on delete.
public protocol Cgroup: Sendable {
  /// The cgroup's path below each hierarchy's root, e.g. `crun-fast/web1`.
  var path: String { get }
  /// The directories the cgroup occupies, one per hierarchy.
  var directories: [String] { get }
  /// Makes the directories (and, on v2, enables the controllers `resources` needs on the way down).
  func create(for resources: CgroupResources) throws
  func set(_ resources: CgroupResources) throws
  /// Moves `pid` into the cgroup in every hierarchy. Moving another process by pid waits for an RCU grace
  /// period in the kernel; a new process is better placed by `placement`.
  func add(pid: Int32) throws
  /// How a process about to be cloned gets into this cgroup without a migration by pid.
  var placement: CgroupPlacement { get }
  /// The processes in the cgroup now.
  func processes() -> [Int32]
  /// Removes the directories; waits a little for exiting processes to leave.
  func destroy() throws
}

/// How a new process joins its cgroup as it starts.
public enum CgroupPlacement: Sendable, Equatable {
  /// cgroup v1: the process writes "0" into each of these `tasks` files itself, first thing after clone.
  case selfAttach(tasksFiles: [String])
  /// cgroup v2: clone3 with CLONE_INTO_CGROUP and this directory.
  case cloneInto(directory: String)
}

/// Which layout the machine's /sys/fs/cgroup has.
public enum CgroupVersion: String, Codable, Sendable {
  /// cgroup v1 controllers, each on its own hierarchy (possibly with an empty cgroup2 "unified" beside).
  case v1
  /// One cgroup2 hierarchy.
  case v2
}

public enum Cgroups {
  public static let mountPoint = "/sys/fs/cgroup"

  /// The cgroup2 mount named by CRUN_FAST_CGROUP2_ROOT, which makes the runtime use cgroup v2 there:
  /// on a hybrid machine, its controller-less /sys/fs/cgroup/unified, where device programs still work
  /// (the tests run containers that way). Every command for a container must see the same value.
  public static let v2RootOverride: String? = {
    guard let value = getenv("CRUN_FAST_CGROUP2_ROOT"), value.pointee != 0 else { return nil }
    return String(cString: value)
  }()

  /// v2 when /sys/fs/cgroup is itself a cgroup2 root (only such a root has cgroup.controllers) or
  /// CRUN_FAST_CGROUP2_ROOT names one, else v1.
  public static func detectVersion() -> CgroupVersion {
    v2RootOverride != nil || Files.exists(mountPoint + "/cgroup.controllers") ? .v2 : .v1
  }

  /// The cgroup at `path` (relative to each hierarchy's root) for `version`.
  public static func open(path: String, version: CgroupVersion) -> any Cgroup {
    switch version {
    case .v1: CgroupV1(path: path)
    case .v2: CgroupV2(path: path, root: v2RootOverride ?? mountPoint)
    }
  }

  /// Checks a cgroups path from the configuration and makes it relative: `/a/b` and `a/b` both mean `a/b`
  /// below each hierarchy's root. systemd's `slice:prefix:name` form is not supported.
  public static func normalize(_ path: String) throws(CgroupError) -> String {
    let parts = path.split(separator: "/").filter { !$0.isEmpty && $0 != "." }
    guard !parts.isEmpty else { throw CgroupError("linux.cgroupsPath \"\(path)\" is empty") }
    guard !parts.contains("..") else { throw CgroupError("linux.cgroupsPath \"\(path)\" must not contain ..") }
    guard !path.contains(":") else {
      throw CgroupError("linux.cgroupsPath \"\(path)\": systemd slice paths are not supported")
    }
    return parts.joined(separator: "/")
  }
}

/// A cgroup operation that failed for a reason other than a system call.
public typealias CgroupError = ModuleError<CgroupFailure>
public enum CgroupFailure {}

/// Reading and writing the one-line control files.
enum ControlFile {
  static func write(_ path: String, _ value: String) throws {
    let fd = try FileDescriptor.open(path, O_WRONLY | O_TRUNC)
    do {
      try fd.write(Array(value.utf8))
    } catch let error as SystemError {
      throw SystemError("write", path: "\(path) ← \(value)", errno: error.errno)
    }
  }

  /// Writes each value with its own write(2) through one descriptor: files such as devices.allow or the
  /// blkio throttles take one rule per write, and a container has a dozen device rules to start.
  static func writeEach(_ path: String, _ values: [String]) throws {
    guard !values.isEmpty else { return }
    let fd = try FileDescriptor.open(path, O_WRONLY | O_TRUNC)
    for value in values {
      do {
        try fd.write(Array(value.utf8))
      } catch let error as SystemError {
        throw SystemError("write", path: "\(path) ← \(value)", errno: error.errno)
      }
    }
  }

  static func read(_ path: String) -> String? {
    guard let bytes = try? Files.read(path) else { return nil }
    var text = String(decoding: bytes, as: UTF8.self)
    while text.last == "\n" { text.removeLast() }
    return text
  }

  static func pids(_ path: String) -> [Int32] {
    (read(path) ?? "").split(separator: "\n").compactMap { Int32($0) }
  }

  /// rmdir, retried while the kernel still counts exiting tasks (EBUSY) for up to `seconds`.
  static func removeDirectory(_ path: String, seconds: Double = 2) throws {
    var waited = 0.0
    while true {
      do {
        _ = try syscall("rmdir", path: path) { rmdir(path) }
        return
      } catch let error as SystemError where error.errno == .ENOENT {
        return
      } catch let error as SystemError where error.errno == Errno(EBUSY) && waited < seconds {
        usleep(2000)
        waited += 0.002
      }
    }
  }
}
