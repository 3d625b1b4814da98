import Glibc
import LinuxSystem

/// A store's names and image indexes, without its packs: what resolving an image reference needs, and
/// the only code that does it. `lazyfs` (every verb, the mount's parent) and crun-fast (a lazyfs root)
/// resolve here, once, at the edge; from there on they pass an `ImageDigest` and an absolute store path,
/// and a `lazyfs mount` is handed the digest (`MountRequest`).
///
/// Reads only what it needs: a name is one file read, a digest or prefix one directory listing. Opening
/// a `ChunkStore` reads every pack index; a container start or a mount resolves before it has to.
public struct ImageCatalog: Sendable {
  public let location: StoreLocation
  public var root: String { location.root }

  /// The catalog of the store at `root`; throws `notAStore` when there is no store there, or one of a
  /// layout version this code does not read.
  public init(root: String) throws(CatalogError) {
    location = StoreLocation(root: root)
    _ = try location.checkVersion()
  }

  /// A catalog of a store already checked (by `ChunkStore`).
  public init(checked location: StoreLocation) { self.location = location }

  public func indexPath(_ digest: ImageDigest) -> String { location.indexPath(digest) }

  /// Every image index in the store.
  public func imageDigests() throws(CatalogError) -> [ImageDigest] {
    do {
      return try Files.list(location.indexesDirectory).compactMap { ImageDigest($0) }.sorted()
    } catch {
      throw .system(error as? SystemError ?? SystemError("opendir", path: location.indexesDirectory))
    }
  }

  /// Every name with the image it points to, sorted by name. A name file that holds no digest is skipped
  /// (`verify` reports it; `lookup` refuses it).
  public func names() throws(CatalogError) -> [(name: String, digest: ImageDigest)] {
    let files: [String]
    do {
      files = try Files.list(location.namesDirectory)
    } catch {
      throw .system(error as? SystemError ?? SystemError("opendir", path: location.namesDirectory))
    }
    return files.compactMap { file in
      guard let name = ImageName(fileName: file), let digest = try? lookup(name) else { return nil }
      return (name.text, digest)
    }.sorted { $0.name < $1.name }
  }

  /// The image a name points to, or nil when there is no such name.
  public func lookup(_ name: ImageName) throws(CatalogError) -> ImageDigest? {
    let path = location.namePath(name)
    let bytes: [UInt8]
    do {
      bytes = try Files.read(path)
    } catch let error as SystemError where error.errno == .ENOENT || error.errno == Errno(ENOTDIR) {
      return nil
    } catch {
      throw .system(error as? SystemError ?? SystemError("read", path: path))
    }
    var text = Substring(decoding: bytes, as: UTF8.self)
    while text.last?.isWhitespace == true { text.removeLast() }
    guard let digest = ImageDigest(text) else { throw .corruptName(name.text, path: path) }
    return digest
  }

  /// Resolves an image reference: a name, a full digest, or a unique prefix of one (with or without
  /// `sha256:`, hex in either case). A name wins over a digest prefix that happens to read the same.
  public func resolve(_ reference: String) throws(CatalogError) -> ImageDigest {
    if let name = ImageName(reference), let digest = try lookup(name) { return digest }
    var hex = Substring(reference)
    if hex.hasPrefix("sha256:") { hex = hex.dropFirst(7) }
    guard !hex.isEmpty, hex.utf8.count <= 64, hex.utf8.allSatisfy(ImageDigest.isHexDigit) else {
      throw .unknownImage(reference)
    }
    // A full digest is its own only match: one stat, no listing of every index.
    if let full = ImageDigest(hex) {
      guard Files.exists(indexPath(full)) else { throw .unknownImage(reference) }
      return full
    }
    let prefix = hex.lowercased()
    let matches = try imageDigests().filter { $0.hex.hasPrefix(prefix) }
    if matches.count == 1 { return matches[0] }
    if matches.isEmpty { throw .unknownImage(reference) }
    throw .ambiguousImage(reference, candidates: matches.map(\.description))
  }
}

extension ImageCatalog {
  /// The image `reference` names in the store at `root`, or nil when that store does not have it (no such
  /// image, or no store there at all): what a node that also has a remote asks first. Anything else wrong
  /// (an ambiguous prefix, a name whose file holds no digest, an unreadable store) is thrown, never
  /// passed on to the remote as if the image were simply not here.
  public static func resolveIfPresent(_ reference: String, inStoreAt root: String) throws(CatalogError)
    -> ImageDigest?
  {
    do {
      return try ImageCatalog(root: root).resolve(reference)
    } catch {
      switch error {
      case .unknownImage, .notAStore: return nil
      default: throw error
      }
    }
  }
}
