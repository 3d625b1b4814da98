/// Why an import failed, said in one line that names the source, the layer or entry, and the reason.
public struct ImportError: Error, CustomStringConvertible, Sendable {
  public let description: String
  public init(_ description: String) { self.description = description }

  /// Prefixes an underlying error with where it happened (`layer 2/3 sha256:…: tar entry "x": truncated`).
  static func wrap<T>(_ context: String, _ body: () throws -> T) throws -> T {
    do { return try body() } catch let e as ImportError {
      throw ImportError("\(context): \(e.description)")
    } catch {
      throw ImportError("\(context): \(error)")
    }
  }
}
