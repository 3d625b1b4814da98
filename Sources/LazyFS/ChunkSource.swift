import ChunkStore
import Codecs

/// Where a mount gets chunk bytes from. The local store is one source; a remote one (HTTP ranges against a
/// registry or CDN) slots in behind the same call, and the cache, single-flight and statistics in front of it
/// stay as they are.
///
/// Contract: `chunk` returns exactly the bytes whose SHA-256 is `digest`, or throws. A source must check the
/// digest itself (the local store does in `ChunkStore.read`), because the mount serves what it returns to
/// every reader of the image and caches it. It is called from many FUSE worker threads at once.
public protocol ChunkSource: Sendable {
  func chunk(_ digest: Digest) throws -> [UInt8]
  /// What the source fetched over the network, for `lazyfs stats`; nil for a local source.
  var remoteStatistics: RemoteFetchStatistics? { get }
}

extension ChunkSource {
  public var remoteStatistics: RemoteFetchStatistics? { nil }
}

/// Chunks from a local `ChunkStore`: a pread of one block from a pack, zstd, then the digest check.
public struct LocalChunkSource: ChunkSource {
  public let store: ChunkStore
  public init(store: ChunkStore) { self.store = store }
  public func chunk(_ digest: Digest) throws -> [UInt8] { try store.read(digest) }
}
