import Glibc
import LinuxSystem
import OCISpec

/// An OCI bundle: a directory with config.json and (usually) the root filesystem. Loading it checks the
/// configuration and that the rootfs exists, so a bad bundle fails before anything is created.
public struct Bundle: Sendable {
  /// Absolute, symlink-free path of the bundle directory.
  public let path: String
  public let spec: Spec
  /// Absolute host path of the root filesystem; for a lazyfs root, empty until `create` has mounted it.
  public var rootfs: String
  /// The lazyfs image the root comes from, when the annotations name one (root.path is then ignored).
  public let lazyRoot: LazyRoot?

  public static func load(_ directory: String) throws -> Bundle {
    guard let resolved = realpath(directory, nil) else { throw SystemError("realpath", path: directory) }
    let path = String(cString: resolved)
    free(resolved)
    let config = path + "/config.json"
    let bytes: [UInt8]
    do {
      bytes = try Files.read(config)
    } catch let error as SystemError where error.errno == .ENOENT {
      throw RuntimeError("bundle \"\(path)\" has no config.json")
    }
    let spec = try Spec.decode(bytes)
    if let lazyRoot = LazyRoot(annotations: spec.annotations) {
      return Bundle(path: path, spec: spec, rootfs: "", lazyRoot: lazyRoot)
    }
    let root = spec.root?.path ?? ""
    let rootfs = root.hasPrefix("/") ? root : path + "/" + root
    guard Files.isDirectory(rootfs) else {
      throw SpecError(field: "root.path", "\"\(rootfs)\" is not a directory")
    }
    return Bundle(path: path, spec: spec, rootfs: rootfs, lazyRoot: nil)
  }
}
