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

  public var description: String { field.isEmpty ? "config.json: \(reason)" : "config.json: \(field): \(reason)" }
}
