import LinuxSystem

/// Why an import failed, said in one line that names the source, the layer or entry, and the reason.
public struct ImportError: CausedError, Sendable {
  public let message: String
  public let cause: (any Error & Sendable)?
  public init(_ message: String, cause: (any Error & Sendable)? = nil) {
    self.message = message
    self.cause = cause
  }

  /// Says where an underlying error happened (`layer 2/3 sha256:…: tar entry "x": truncated`), keeping it
  /// as the cause.
  static func wrap<T>(_ context: String, _ body: () throws -> T) throws -> T {
    do { return try body() } catch {
      throw ImportError(context, cause: error)
    }
  }
}
