import Codecs
import LinuxSystem

/// What can go wrong with a store, each case naming the object at fault.
public enum StoreError: Error, CustomStringConvertible, Sendable {
  case system(SystemError)
  case notAStore(path: String, reason: String)
  case missingChunk(Digest)
  case corruptChunk(Digest, pack: String, reason: String)
  case corruptPackIndex(path: String)
  case unknownImage(String)
  case ambiguousImage(String, candidates: [String])
  case corruptImageIndex(Digest, reason: String)
  case invalidName(String)
  case shortFile(expected: Int64, missing: Int64)

  public var description: String {
    switch self {
    case .system(let e): "\(e)"
    case .notAStore(let path, let reason): "\(path): not a lazyfs store (\(reason))"
    case .missingChunk(let d): "chunk \(d) is missing from the store"
    case .corruptChunk(let d, let pack, let reason): "chunk \(d) in pack \(pack) is corrupt: \(reason)"
    case .corruptPackIndex(let path): "\(path): corrupt pack index (bad magic, length or checksum)"
    case .unknownImage(let ref): "no image matches \"\(ref)\""
    case .ambiguousImage(let ref, let c): "\"\(ref)\" matches several images: \(c.joined(separator: ", "))"
    case .corruptImageIndex(let d, let reason): "image index \(d) is corrupt: \(reason)"
    case .shortFile(let expected, let missing):
      "file data ended \(missing) bytes before the \(expected) the archive announced"
    case .invalidName(let n):
      "invalid image name \"\(n)\" (letters, digits, '.', '_', '-', ':', '@', '/'; no part may be empty or start with '.')"
    }
  }
}
