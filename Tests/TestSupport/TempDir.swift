import Glibc
import LinuxSystem
import Testing

/// A fresh directory under /tmp for one test, removed by `remove()`.
///
/// Removal refuses while anything is still mounted inside: removing through a live overlay would delete
/// its upper files, and through a lazyfs mount it would only fail. The tree is then left, and the test
/// records an issue naming the mount, since a test that leaks a mount is a failing test.
public struct TempDir: Sendable {
  public let path: String

  public init(_ prefix: String = "lazyfs-tests") throws {
    var template = Array("/tmp/\(prefix)-XXXXXX".utf8CString)
    guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
      throw SystemError("mkdtemp")
    }
    path = String(cString: made)
  }

  public func sub(_ name: String) -> String { "\(path)/\(name)" }

  /// Makes a subdirectory and returns its path.
  public func directory(_ name: String) throws -> String {
    try Files.makeDirectories(sub(name))
    return sub(name)
  }

  public func remove(sourceLocation: SourceLocation = #_sourceLocation) {
    if let inside = MountInfo.mounts(under: path).first {
      Issue.record("not removing \(path): \(inside) is still mounted", sourceLocation: sourceLocation)
      return
    }
    Files.removeTree(path)
  }
}
