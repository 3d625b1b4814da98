import Codecs
import LinuxSystem

/// What can go wrong with a store's chunks and indexes, each case naming the object at fault. Finding a
/// store and an image in it fails with `CatalogError` (module StoreCatalog).
public enum StoreError: Error, CustomStringConvertible, Sendable {
  case system(SystemError)
  case missingChunk(Digest)
  case corruptChunk(Digest, pack: String, reason: String)
  case corruptPackIndex(path: String)
  case corruptImageIndex(Digest, reason: String)
  case shortFile(expected: Int64, missing: Int64)

  public var description: String {
    switch self {
    case .system(let e): "\(e)"
    case .missingChunk(let d): "chunk \(d) is missing from the store"
    case .corruptChunk(let d, let pack, let reason): "chunk \(d) in pack \(pack) is corrupt: \(reason)"
    case .corruptPackIndex(let path): "\(path): corrupt pack index (bad magic, length or checksum)"
    case .corruptImageIndex(let d, let reason): "image index \(d) is corrupt: \(reason)"
    case .shortFile(let expected, let missing):
      "file data ended \(missing) bytes before the \(expected) the archive announced"
    }
  }
}
