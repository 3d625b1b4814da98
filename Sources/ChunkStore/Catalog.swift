import Codecs
import Glibc
import LinuxSystem
import StoreCatalog

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
    let path = indexPath(digest)
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
    let path = indexPath(digest)
    guard Files.exists(path) else { throw CatalogError.unknownImage(digest.description) }
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

  public func indexPath(_ digest: Digest) -> String { location.indexPath(ImageDigest(digest)) }

  /// Every image index in the store.
  public func imageDigests() throws -> [Digest] { try catalog.imageDigests().map(Digest.init) }

  public func setName(_ name: String, to digest: Digest) throws {
    guard let name = ImageName(name) else { throw CatalogError.invalidName(name) }
    try Files.writeAtomically(location.namePath(name), Array("\(digest)\n".utf8))
  }

  public func removeName(_ name: String) {
    if let name = ImageName(name) { unlink(location.namePath(name)) }
  }

  /// Removes an image: the names that point to it, then its index. Its chunks stay until `gc`.
  public func removeImage(_ digest: Digest) throws {
    for (name, d) in try names() where d == digest { removeName(name) }
    let path = indexPath(digest)
    do { try Files.removeFile(path) } catch let error as SystemError { throw StoreError.system(error) }
    Files.fsyncDirectory(indexesDirectory)
  }

  /// Every name with the image it points to.
  public func names() throws -> [(name: String, digest: Digest)] {
    try catalog.names().map { ($0.name, Digest($0.digest)) }
  }

  /// Resolves an image reference (`ImageCatalog.resolve`).
  public func resolve(_ reference: String) throws -> Digest { Digest(try catalog.resolve(reference)) }

  /// The store's names and image indexes alone.
  public var catalog: ImageCatalog { ImageCatalog(checked: location) }
}

extension ImageDigest {
  public init(_ digest: Digest) { self = ImageDigest(digest.hex)! }
}

extension Digest {
  public init(_ digest: ImageDigest) { self = Digest(hex: digest.hex)! }
}
