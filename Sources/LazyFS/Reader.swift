import CFuse
import CFuseRing
import Codecs
import Dispatch
import Glibc
import ImageIndex

/// The read path: the extents overlapping [offset, offset + size) are found by binary search, only their
/// chunks are fetched (through the cache), and the reply points at the chunks' bytes directly.
extension ImageFilesystem {
  /// Reads spanning at least this many chunks load their second half on another thread.
  static let readAheadSplit = 4

  /// A piece of a reply: part of one chunk.
  struct Piece {
    var chunk: ChunkData
    var range: Range<Int>
    var digest: Digest
    /// The read had to wait for the chunk to load (it was not in memory).
    var waited: Bool
  }

  /// Why a read cannot be answered from the index and its chunks.
  enum ReadFailure: Error {
    case corruptIndex(String)
    case chunk(any Error)
  }

  func read(_ reply: consuming Reply, _ ino: fuse_ino_t, size: Int, offset: Int64) {
    guard let entry = index.entry(forInode: ino) else { return reply.error(ENOENT) }
    guard index.type(entry) == .regular else { return reply.error(EISDIR) }
    // On an io_uring thread, a read that must wait for a remote is answered from a worker, so that the
    // ring goes on serving its CPU's other requests (see `lf_ring_defer_current`). From a local store, or
    // with every chunk in memory, it is answered here: handing off costs more than it saves.
    if deferRemoteReads, !chunksInMemory(entry, offset: offset, size: size), lf_ring_defer_current() == 1 {
      let pending = reply.handOff()
      DispatchQueue.global().async { [self] in read(pending.take(), ino, size: size, offset: offset) }
      return
    }
    let pieces: [Piece]
    do { pieces = try self.pieces(of: entry, offset: offset, size: size) } catch .corruptIndex(let why) {
      logger.error("\(index.path(of: entry)): \(why)")
      return reply.error(EIO)
    } catch {
      return reply.error(EIO)  // the cache logged the failed load
    }
    let total = pieces.reduce(0) { $0 + $1.range.count }
    logger.trace("read \(index.path(of: entry)) \(offset)+\(size): \(total) bytes from \(pieces.count) chunks")
    statistics.recordRead(bytes: total)
    if let recorder, let first = index.extent(of: entry, at: offset) {
      recorder.note(entry: entry, extents: first..<(first + pieces.count))
    }
    prefetch?.read(pieces)
    if pieces.isEmpty { return reply.bytes([]) }  // at or past the end of the file
    let parts = pieces.map { p in
      iovec(
        iov_base: UnsafeMutableRawPointer(mutating: p.chunk.bytes.baseAddress! + p.range.lowerBound),
        iov_len: p.range.count)
    }
    reply.vector(parts)
    // The iovecs point into the chunks: they must outlive the reply, which the kernel copies synchronously.
    withExtendedLifetime(pieces) {}
  }

  /// Whether the chunks holding bytes [offset, offset + size) of `entry` are all in the chunk cache.
  func chunksInMemory(_ entry: Int, offset: Int64, size: Int) -> Bool {
    guard var k = index.extent(of: entry, at: offset) else { return true }
    let end = offset + Int64(size)
    while k < index.extents(entry).upperBound {
      let x = index.extent(k)
      guard x.offset < end else { break }
      if !cache.contains(x.chunk) { return false }
      k += 1
    }
    return true
  }

  /// The chunk ranges holding bytes [offset, offset + size) of file `entry`, clipped at its end.
  func pieces(of entry: Int, offset: Int64, size: Int) throws(ReadFailure) -> [Piece] {
    let fileSize = index.attributes(entry).size
    let end = min(offset + Int64(size), fileSize)
    guard offset >= 0, offset < end else { return [] }
    guard var k = index.extent(of: entry, at: offset) else {
      throw .corruptIndex("no extent holds offset \(offset) of a \(fileSize)-byte file")
    }
    let last = index.extents(entry).upperBound
    var extents: [Extent] = []
    var at = offset
    while at < end {
      guard k < last else { throw .corruptIndex("extents end before the file does (\(at) of \(fileSize))") }
      let x = index.extent(k)
      guard x.offset <= at, at < x.offset + Int64(x.length) else {
        throw .corruptIndex("extent \(k) does not continue at offset \(at)")
      }
      extents.append(x)
      at = x.offset + Int64(x.length)
      k += 1
    }
    // A large read (readahead of a big file: up to 16 chunks) loads its second half on another core.
    if extents.count >= Self.readAheadSplit {
      cache.loadAhead(extents[(extents.count / 2)...].map(\.chunk))
    }
    var pieces: [Piece] = []
    at = offset
    for x in extents {
      let chunk: ChunkData
      var waited = false
      do { chunk = try cache.chunk(x.chunk, waited: &waited) } catch { throw .chunk(error) }
      guard chunk.count == Int(x.length) else {
        throw .corruptIndex("chunk \(x.chunk) is \(chunk.count) bytes, its extent says \(x.length)")
      }
      let lo = Int(at - x.offset)
      let hi = Int(min(end, x.offset + Int64(x.length)) - x.offset)
      pieces.append(Piece(chunk: chunk, range: lo..<hi, digest: x.chunk, waited: waited))
      at = x.offset + Int64(hi)
    }
    return pieces
  }
}
