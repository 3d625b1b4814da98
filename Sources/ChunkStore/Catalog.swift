import Codecs
import Glibc
import LinuxSystem

/// Image indexes and names. The store keeps an index as an opaque, content-addressed file; what is inside
/// (and so which chunks an image needs) is the business of `ImageIndex`.
extension ChunkStore {
  /// Stores an image index atomically; returns its digest, which is the image's digest (of the index's
  /// bytes, not of the file).
  ///
  /// The file is one zstd frame of the index: an index is mostly fixed-width records of small numbers and
  /// names, and compresses to about a third (the `python` image's 1.56 MB to 0.56 MB), which was 2.4 MB of
  /// a store holding `debian` and `python`. Opening it (`ImageIndex(path:)`) decompresses it once into
  /// memory, ~1 ms per MB of index. Files written before (the raw index) are read as they are.
  @discardableResult
  public func putIndex(_ bytes: [UInt8]) throws -> Digest {
    let digest = Digest.of(bytes)
    let path = "\(indexesDirectory)/\(digest.hex)"
    if !Files.exists(path) {
      let packed = bytes.withUnsafeBytes { Zstd.compress($0, level: 3) }
      try Files.writeAtomically(path, packed.count < bytes.count ? packed : bytes)
    }
    return digest
  }

  /// The bytes of an image index, checked against its digest.
  public func indexBytes(_ digest: Digest) throws -> [UInt8] { try indexFile(digest).index }

  /// An image index's file as stored (what `publish` copies), with the index it holds, checked against
  /// its digest.
  public func indexFile(_ digest: Digest) throws -> (file: [UInt8], index: [UInt8]) {
    let path = "\(indexesDirectory)/\(digest.hex)"
    guard Files.exists(path) else { throw StoreError.unknownImage(digest.description) }
    let file = try Files.read(path)
    return (file, try Self.unpackIndex(file, digest: digest))
  }

  /// The index an index file holds (one zstd frame of it, or the index itself as older versions wrote
  /// it), checked against the image digest, which is the index's SHA-256. For store and remote files alike.
  public static func unpackIndex(_ file: [UInt8], digest: Digest) throws(StoreError) -> [UInt8] {
    let index: [UInt8]
    do {
      index = try file.withUnsafeBytes { try Zstd.decompressIfFrame($0, limit: StoreLayout.maximumIndexSize) }
    } catch {
      throw StoreError.corruptImageIndex(digest, reason: "\(error)")
    }
    guard Digest.of(index) == digest else {
      throw StoreError.corruptImageIndex(digest, reason: "content does not match digest")
    }
    return index
  }

  public func indexPath(_ digest: Digest) -> String { catalog.indexPath(digest) }

  /// Every image index in the store.
  public func imageDigests() throws -> [Digest] { try catalog.imageDigests() }

  /// Names are path-like (`debian:bookworm`, `team/app:1.2`) but never escape `names/`; no component starts
  /// with '.' (that keeps `..` out, and the store's own `.tmp-` files apart).
  public static func validName(_ name: String) -> Bool {
    guard !name.isEmpty, name.utf8.count <= 200, !name.hasPrefix("/"), !name.hasSuffix("/") else { return false }
    let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-:/@")
    return name.allSatisfy(allowed.contains)
      && !name.split(separator: "/", omittingEmptySubsequences: false).contains { $0.isEmpty || $0.hasPrefix(".") }
  }

  private func namePath(_ name: String) -> String {
    // '/' in a name becomes '%2F' so that every name is one file.
    namesDirectory + "/" + name.replacing("/", with: "%2F")
  }

  public func setName(_ name: String, to digest: Digest) throws {
    guard Self.validName(name) else { throw StoreError.invalidName(name) }
    try Files.writeAtomically(namePath(name), Array("\(digest)\n".utf8))
  }

  public func removeName(_ name: String) { unlink(namePath(name)) }

  /// Removes an image: the names that point to it, then its index. Its chunks stay until `gc`.
  public func removeImage(_ digest: Digest) throws {
    for (name, d) in try names() where d == digest { removeName(name) }
    if unlink(indexPath(digest)) != 0 && errno != ENOENT {
      throw StoreError.system(SystemError("unlink", path: indexPath(digest)))
    }
    Files.fsyncDirectory(indexesDirectory)
  }

  /// Every name with the image it points to.
  public func names() throws -> [(name: String, digest: Digest)] { try catalog.names() }
  /// Resolves an image reference: a name, a full digest, or a unique prefix of one (with or without `sha256:`).
  public func resolve(_ reference: String) throws -> Digest { try catalog.resolve(reference) }

  /// The store's names and image indexes alone.
  public var catalog: ImageCatalog { ImageCatalog(checkedRoot: root) }
}

/// A store's names and image indexes, without its packs: what resolving a reference and opening an image's
/// index need. Opening a `ChunkStore` reads every pack index; a mount answers before it has to.
public struct ImageCatalog: Sendable {
  public let root: String
  var indexesDirectory: String { root + "/indexes" }
  var namesDirectory: String { root + "/names" }

  /// The catalog of the store at `root`; throws when there is no store there, or one of a layout version
  /// this code does not read.
  public init(root: String) throws {
    guard Files.exists(root + "/layout") else {
      throw StoreError.notAStore(path: root, reason: Files.exists(root) ? "no layout file" : "no such directory")
    }
    _ = try StoreLayout.checkVersion(of: root)
    self.root = root
  }

  init(checkedRoot root: String) { self.root = root }

  public func indexPath(_ digest: Digest) -> String { "\(indexesDirectory)/\(digest.hex)" }

  public func imageDigests() throws -> [Digest] {
    try Files.list(indexesDirectory).compactMap { Digest(hex: $0) }.sorted()
  }

  /// Every name with the image it points to.
  public func names() throws -> [(name: String, digest: Digest)] {
    try Files.list(namesDirectory).filter { !$0.hasPrefix(".tmp-") }.compactMap { file in
      let text = String(decoding: try Files.read(namesDirectory + "/" + file), as: UTF8.self)
      guard let d = Digest(hex: text.hasSuffix("\n") ? text.dropLast() : Substring(text)) else { return nil }
      return (file.replacing("%2F", with: "/"), d)
    }.sorted { $0.name < $1.name }
  }

  /// Resolves an image reference: a name, a full digest, or a unique prefix of one (with or without `sha256:`).
  public func resolve(_ reference: String) throws -> Digest {
    if ChunkStore.validName(reference), let hit = try names().first(where: { $0.name == reference }) {
      return hit.digest
    }
    var hex = Substring(reference)
    if hex.hasPrefix("sha256:") { hex = hex.dropFirst(7) }
    guard !hex.isEmpty, hex.allSatisfy(\.isHexDigit) else { throw StoreError.unknownImage(reference) }
    let matches = try imageDigests().filter { $0.hex.hasPrefix(hex.lowercased()) }
    if matches.count == 1 { return matches[0] }
    if matches.isEmpty { throw StoreError.unknownImage(reference) }
    throw StoreError.ambiguousImage(reference, candidates: matches.map(\.description))
  }
}
