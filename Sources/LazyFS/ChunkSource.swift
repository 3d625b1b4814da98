import ChunkStore
import Codecs
import Dispatch

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

/// The local store, opened on another thread once the mount is up (`start`), so that the mount answers
/// without waiting for it: opening a store reads every pack index, and listing or stat-ing the image needs
/// none of them. The first chunk read waits for the open if it is still going. The packs are pinned as the
/// store opens (see `ChunkStore.pinPacks`).
public final class OpeningChunkSource: ChunkSource, @unchecked Sendable {
  private let root: String
  private let opened = DispatchGroup()
  /// Written once before `opened` is left, read only after waiting on it.
  private nonisolated(unsafe) var result: Result<ChunkStore, any Error> = .failure(MountError("store not opened"))

  public init(root: String) {
    self.root = root
    opened.enter()
  }

  /// Starts opening the store. Not in `init`: the mount forks fusermount3, which is safe only while this
  /// process has a single thread.
  public func start() {
    DispatchQueue.global().async { [self] in
      result = Result {
        let store = try ChunkStore(root: root)
        try store.pinPacks()
        return store
      }
      opened.leave()
    }
  }

  /// The store, once open.
  public func store() throws -> ChunkStore {
    opened.wait()
    return try result.get()
  }

  public func chunk(_ digest: Digest) throws -> [UInt8] { try store().read(digest) }
}
