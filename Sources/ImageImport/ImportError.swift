import LinuxSystem

/// Why an import failed, said in one line that names the source, the layer or entry, and the reason.
public typealias ImportError = ModuleError<ImportFailure>
public enum ImportFailure {}

extension ImportError {
  /// Says where an underlying error happened (`layer 2/3 sha256:…: tar entry "x": truncated`), keeping it
  /// as the cause.
  static func wrap<T>(_ context: String, _ body: () throws -> T) throws -> T {
    do { return try body() } catch {
      throw ImportError(context, cause: error)
    }
  }
}
