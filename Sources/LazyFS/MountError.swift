import LinuxSystem

/// Why a mount, an unmount or a statistics request failed, in one line that names the path at fault.
public struct MountError: CausedError, Sendable {
  public let message: String
  public let cause: (any Error & Sendable)?
  public init(_ message: String, cause: (any Error & Sendable)? = nil) {
    self.message = message
    self.cause = cause
  }
}
