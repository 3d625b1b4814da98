import CLinux
import Glibc
import LinuxSystem

/// A bpf(2) command that failed. Printed: `bpf(BPF_PROG_ATTACH, "/sys/fs/cgroup/web1"): EPERM (…)`,
/// followed by the verifier's log when the kernel refused to load a program.
public struct BPFError: SystemFailure, CustomStringConvertible, Sendable {
  public var failedCall: SystemError { SystemError("bpf(\(command))", path: path, errno: errno) }

  /// BPF_PROG_LOAD, BPF_PROG_ATTACH, …
  public let command: String
  /// The cgroup directory the command was about, if any.
  public let path: String?
  public let errno: Errno
  public let verifierLog: String?

  public init(_ command: String, path: String? = nil, errno: Errno = .current, verifierLog: String? = nil) {
    (self.command, self.path, self.errno, self.verifierLog) = (command, path, errno, verifierLog)
  }

  public var description: String {
    let call = path.map { "bpf(\(command), \"\($0)\")" } ?? "bpf(\(command))"
    guard let verifierLog, !verifierLog.isEmpty else { return "\(call): \(errno)" }
    return "\(call): \(errno)\nverifier log:\n\(verifierLog)"
  }
}

/// Loading a device program and making it the one a cgroup2 directory runs.
public enum DeviceProgram {
  /// Loads `program` and attaches it to the cgroup2 directory `directory` in place of whatever device
  /// programs the directory had: the new one is attached first (BPF_F_ALLOW_MULTI, as runc and crun
  /// attach, so that programs of an enclosing cgroup keep running as well), then the old ones are
  /// detached, so that there is no moment without a filter. Removing the directory detaches it.
  public static func install(_ program: [BPFInstruction], in directory: String) throws {
    let cgroup = try FileDescriptor.open(directory, O_RDONLY | O_DIRECTORY)
    let old = try attached(cgroup: cgroup.raw, directory: directory)
    let loaded = FileDescriptor(adopting: try load(program))
    try retryingEINTR("BPF_PROG_ATTACH", directory) { cl_bpf_device_prog_attach(cgroup.raw, loaded.raw) }
    for id in old {
      let raw = cl_bpf_prog_get_fd_by_id(id)
      // Gone already: someone else replaced it in the meantime.
      if raw < 0 && Errno.current == .ENOENT { continue }
      if raw < 0 { throw BPFError("BPF_PROG_GET_FD_BY_ID", path: directory) }
      let fd = FileDescriptor(adopting: raw)
      if cl_bpf_device_prog_detach(cgroup.raw, fd.raw) < 0 && Errno.current != .ENOENT {
        throw BPFError("BPF_PROG_DETACH", path: directory)
      }
    }
  }

  /// The ids of the device programs attached to `directory` itself (not those inherited from above).
  public static func attached(to directory: String) throws -> [UInt32] {
    let cgroup = try FileDescriptor.open(directory, O_RDONLY | O_DIRECTORY)  // open until the query is done
    return try attached(cgroup: cgroup.raw, directory: directory)
  }

  static func attached(cgroup: Int32, directory: String) throws(BPFError) -> [UInt32] {
    // The kernel allows 64 programs per attach point; ENOSPC says how many more to make room for.
    var capacity: UInt32 = 64
    while true {
      var ids = [UInt32](repeating: 0, count: Int(capacity))
      var count = capacity
      let r = ids.withUnsafeMutableBufferPointer { cl_bpf_device_prog_query(cgroup, $0.baseAddress, &count) }
      if r == 0 { return Array(ids.prefix(Int(min(count, capacity)))) }
      let e = Errno.current
      if e == .EINTR { continue }
      guard e.rawValue == ENOSPC, count > capacity else { throw BPFError("BPF_PROG_QUERY", path: directory, errno: e) }
      capacity = count
    }
  }

  /// BPF_PROG_LOAD; the program's fd. A refused program is loaded once more with a verifier log, for the
  /// error. The license is only checked when a program calls GPL-only helpers, which this type does not;
  /// the kernel still wants a string.
  static func load(_ program: [BPFInstruction]) throws(BPFError) -> Int32 {
    let bytes = program.flatMap(\.bytes)
    func attempt(log: UnsafeMutableBufferPointer<CChar>?) -> Int32 {
      bytes.withUnsafeBytes { instructions in
        cl_bpf_device_prog_load(
          instructions.baseAddress, UInt32(program.count), "Apache-2.0", "crun_fast_dev", log?.baseAddress,
          UInt32(log?.count ?? 0))
      }
    }
    var fd: Int32
    repeat { fd = attempt(log: nil) } while fd < 0 && Errno.current == .EINTR
    if fd >= 0 { return fd }
    let e = Errno.current
    var log = [CChar](repeating: 0, count: 64 << 10)
    let logged = log.withUnsafeMutableBufferPointer { attempt(log: $0) }
    if logged >= 0 { return logged }
    let text = log.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    throw BPFError("BPF_PROG_LOAD", errno: e, verifierLog: text)
  }

  private static func retryingEINTR(_ command: String, _ directory: String, _ body: () -> Int32) throws(BPFError) {
    while body() < 0 {
      let e = Errno.current
      if e != .EINTR { throw BPFError(command, path: directory, errno: e) }
    }
  }
}
