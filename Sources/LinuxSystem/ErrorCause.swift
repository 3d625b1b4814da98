/// An error that says what was being done and keeps the error that made it fail, instead of flattening
/// it into text: printed, it reads as one line (`what: cause`); inspected, `systemError` finds the failed
/// call at the bottom, so a caller can tell ENOENT from EACCES without parsing a message.
///
/// Each module's error (`RuntimeError`, `MountError`, `ImportError`, `CgroupError`, …) conforms.
public protocol CausedError: Error, CustomStringConvertible {
  /// What was being done, or what is wrong, without the cause.
  var message: String { get }
  /// The error that made it fail, if another one did.
  var cause: (any Error & Sendable)? { get }
}

/// A module's own error: what went wrong and, where another error made it go wrong, that error. One type
/// for every module, told apart by `Domain` (an empty enum per module: `MountError` is
/// `ModuleError<MountFailure>`), so that `catch let error as MountError` still picks a module's errors.
public struct ModuleError<Domain>: CausedError, Sendable {
  public let message: String
  public let cause: (any Error & Sendable)?

  public init(_ message: String, cause: (any Error & Sendable)? = nil) {
    self.message = message
    self.cause = cause
  }
}

extension CausedError {
  public var description: String { cause.map { "\(message): \($0)" } ?? message }
}

/// An error that is, at bottom, one failed call, with more to say than `SystemError` does (a BPF verifier's
/// log, the step of a container's set-up that failed): `systemError` finds its call all the same.
public protocol SystemFailure: Error {
  var failedCall: SystemError { get }
}

extension Error {
  /// The failed system call at the bottom of this error's causes, if there is one.
  public var systemError: SystemError? {
    var current: any Error = self
    for _ in 0..<32 {
      if let failed = current as? SystemError { return failed }
      if let failure = current as? any SystemFailure { return failure.failedCall }
      guard let wrapped = current as? any CausedError, let cause = wrapped.cause else { return nil }
      current = cause
    }
    return nil
  }
}
