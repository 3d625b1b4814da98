import JSON

/// A config.json that cannot be used, naming the field at fault in the spec's own dotted path
/// (`process.user.uid`, `linux.namespaces[2].type`), so that the one line a user sees points at the fix.
public struct SpecError: Error, CustomStringConvertible, Sendable, Equatable {
  /// Dotted path of the offending field; empty for the document as a whole.
  public let field: String
  public let reason: String

  public init(field: String, _ reason: String) {
    self.field = field
    self.reason = reason
  }

  /// A config.json member that is missing or of the wrong type.
  public init(_ error: JSONFieldError) { self.init(field: error.field, error.reason) }

  public var description: String { field.isEmpty ? "config.json: \(reason)" : "config.json: \(field): \(reason)" }
}
