import Glibc
import LinuxSystem

/// Where a lazyfs store is, and the one description of the files in it.
///
/// ```
/// ROOT/layout          "lazyfs-store N\n": the layout version (`version`, `readableVersions`)
/// ROOT/names/NAME      "sha256:HEX\n", one file per name ('/' in NAME as %2F: `ImageName.fileName`)
/// ROOT/indexes/HEX     an image index (HEX = the image digest)
/// ROOT/packs/ID.pack   chunk packs and their indexes (`ChunkStore` reads and writes these)
/// ROOT/tmp/            what a writer has not committed yet
/// ```
///
/// Every program that finds a store (`lazyfs`, and crun-fast for a lazyfs root) takes its path from
/// `path(_:)`, so that the default is decided once; from there on the path is absolute.
public struct StoreLocation: Sendable, Equatable, CustomStringConvertible {
  /// Absolute.
  public let root: String

  /// The store at `root`, made absolute against the working directory.
  public init(root: String) { self.root = Self.absolute(root) }

  /// The store a command uses: `flag` when given (a `--store` option, an annotation), else
  /// `$LAZYFS_STORE`, else /var/lib/lazyfs; absolute.
  public static func path(_ flag: String?) -> String { StoreLocation(root: flag ?? defaultRoot).root }

  /// `$LAZYFS_STORE`, else the node configuration's `store`, else /var/lib/lazyfs.
  public static var defaultRoot: String {
    if let env = getenv(environmentVariable), env.pointee != 0 { return String(cString: env) }
    return NodeConfig.orNone.store ?? "/var/lib/lazyfs"
  }

  public static let environmentVariable = "LAZYFS_STORE"

  public var layoutFile: String { root + "/layout" }
  public var packsDirectory: String { root + "/packs" }
  public var indexesDirectory: String { root + "/indexes" }
  public var namesDirectory: String { root + "/names" }
  public var tmpDirectory: String { root + "/tmp" }
  /// Every directory a new store has, parents first.
  public var directories: [String] { [root, packsDirectory, tmpDirectory, indexesDirectory, namesDirectory] }

  public func indexPath(_ digest: ImageDigest) -> String { indexesDirectory + "/" + digest.hex }
  public func namePath(_ name: ImageName) -> String { namesDirectory + "/" + name.fileName }

  public var description: String { root }

  /// The layout version this code writes.
  public static let version = 2
  /// Versions this code opens: 1 differs only in not announcing zstd-framed image indexes.
  public static let readableVersions = 1...2
  /// The `layout` file of a store of this version.
  public static let layoutContents = Array("lazyfs-store \(version)\n".utf8)

  /// The layout version of the store; `notAStore` when there is no store here, or one of a version this
  /// code does not read.
  public func checkVersion() throws(CatalogError) -> Int {
    let bytes: [UInt8]
    do {
      bytes = try Files.read(layoutFile)
    } catch let error as SystemError where error.errno == .ENOENT {
      throw .notAStore(path: root, reason: Files.exists(root) ? "no layout file" : "no such directory")
    } catch let error as SystemError {
      throw .system(error)
    } catch {
      throw .notAStore(path: root, reason: "\(error)")
    }
    let text = String(decoding: bytes, as: UTF8.self)
    guard text.hasPrefix("lazyfs-store "), text.hasSuffix("\n"), let version = Int(text.dropFirst(13).dropLast()),
      Self.readableVersions.contains(version)
    else {
      throw .notAStore(
        path: root,
        reason: "layout \"\(text.prefix(40))\" is not a version this lazyfs reads "
          + "(\(Self.readableVersions.lowerBound) to \(Self.version))")
    }
    return version
  }

  /// `path` made absolute against the working directory (not resolved: symlinks stay).
  public static func absolute(_ path: String) -> String {
    if path.hasPrefix("/") { return path }
    guard let cwd = getcwd(nil, 0) else { return path }
    defer { free(cwd) }
    let base = String(cString: cwd)
    if path.isEmpty || path == "." { return base }
    return (base == "/" ? "" : base) + "/" + (path.hasPrefix("./") ? String(path.dropFirst(2)) : path)
  }
}
