import Glibc
import OCISpec

/// The namespaces of a running container process that a new process must enter to be inside it: `exec`,
/// and the createContainer hooks, which runc runs from the init and so in all of the init's namespaces.
enum Namespaces {
  /// Entered in this order: the user namespace first (it decides the rights to enter the others), the
  /// mount namespace last (entering it changes the root and working directory).
  static let order = ["user", "ipc", "uts", "net", "cgroup", "mnt"]
  static let flags: [String: Int32] = [
    "user": 0x1000_0000, "ipc": 0x0800_0000, "uts": 0x0400_0000, "net": 0x4000_0000, "cgroup": 0x0200_0000,
    "mnt": 0x0002_0000,
  ]

  /// The namespaces of `pid` that differ from ours (entering one's own user namespace fails with EINVAL),
  /// and its pid namespace when that differs.
  static func joins(of pid: Int32) -> (joins: [InitPlan.Join], pid: String?) {
    var joins: [InitPlan.Join] = []
    for type in order where !same(pid, type) {
      joins.append(InitPlan.Join(path: "/proc/\(pid)/ns/\(type)", type: flags[type] ?? 0))
    }
    return (joins, same(pid, "pid") ? nil : "/proc/\(pid)/ns/pid")
  }

  private static func same(_ pid: Int32, _ type: String) -> Bool {
    var ours = stat()
    var theirs = stat()
    guard stat("/proc/self/ns/\(type)", &ours) == 0, stat("/proc/\(pid)/ns/\(type)", &theirs) == 0 else {
      return true  // a kernel without this namespace type: nothing to enter
    }
    return ours.st_ino == theirs.st_ino && ours.st_dev == theirs.st_dev
  }
}
