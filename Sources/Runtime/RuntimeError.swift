import LinuxSystem

/// A lifecycle operation refused for a reason of the runtime's own (an unknown or duplicate id, a
/// container in the wrong state), as opposed to a failed system call (`SystemError`) or a bad
/// configuration (`SpecError`), which travel unchanged.
public struct RuntimeError: CausedError, Sendable, Equatable {
  public let message: String
  public let cause: (any Error & Sendable)?
  public init(_ message: String, cause: (any Error & Sendable)? = nil) {
    self.message = message
    self.cause = cause
  }

  public static func == (a: RuntimeError, b: RuntimeError) -> Bool { a.description == b.description }
}

/// A step of the container's init that failed between clone and execve, as the child reported it.
public struct InitError: SystemFailure, CustomStringConvertible, Sendable {
  public var failedCall: SystemError { SystemError(call, path: path, errno: Errno(errno)) }

  public let call: String
  public let path: String?
  public let errno: Int32
  /// For a failed startContainer hook: its wait status, -1 when it timed out.
  public var status: Int32 = 0
  /// Whose set-up failed, for the message: the container's init, or a process `exec` started.
  public var process = "container init"

  public var description: String {
    if call.hasSuffix(" hook"), errno == 0 {
      return "\(call) \"\(path ?? "")\" failed: \(Hooks.describe(status: status))"
    }
    let reason = String(cString: strerror(errno))
    if call == "exec", let path {
      return "\(process): exec \"\(path)\": executable file not found in $PATH"
    }
    if let path { return "\(process): \(call)(\"\(path)\"): \(reason)" }
    return "\(process): \(call): \(reason)"
  }
}

#if canImport(Glibc)
  import Glibc
#endif
