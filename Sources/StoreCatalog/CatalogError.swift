import LinuxSystem

/// What can be wrong when finding a store or an image in it, naming the store path or the reference.
public enum CatalogError: Error, CustomStringConvertible, Sendable, Equatable {
  case notAStore(path: String, reason: String)
  case unknownImage(String)
  case ambiguousImage(String, candidates: [String])
  case invalidName(String)
  /// A name's file that holds no digest.
  case corruptName(String, path: String)
  case system(SystemError)

  public var description: String {
    switch self {
    case .notAStore(let path, let reason): "\(path): not a lazyfs store (\(reason))"
    case .unknownImage(let ref): "no image matches \"\(ref)\""
    case .ambiguousImage(let ref, let c): "\"\(ref)\" matches several images: \(c.joined(separator: ", "))"
    case .invalidName(let n):
      "invalid image name \"\(n)\" (letters, digits, '.', '_', '-', ':', '@', '/'; no part may be empty or start with '.')"
    case .corruptName(let name, let path): "name \"\(name)\" (\(path)) holds no image digest"
    case .system(let e): "\(e)"
    }
  }
}
