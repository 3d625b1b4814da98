import Codecs
import Dispatch
import Glibc
import LinuxSystem
import StoreCatalog
import Synchronization

/// A chunk of a file: where it sits in the file and what it is.
public struct FileChunk: Sendable, Equatable {
  public var digest: Digest
  public var offset: Int64
  public var length: UInt32
}

/// Figures for one import session.
public struct WriteStatistics: Sendable {
  /// File bytes read.
  public var bytesIn: Int64 = 0
  /// Bytes of the chunks the store did not have (before compression).
  public var bytesNew: Int64 = 0
  public var chunksNew = 0
  public var chunksReused = 0
  /// Bytes written to packs (after compression).
  public var bytesStored: Int64 = 0
}

/// Writes new content into a store: one per import.
///
/// The calling thread reads file data straight into a 4 MiB batch buffer and finds the chunk boundaries
/// (cheap); each full batch goes to a worker, which hashes its chunks, keeps those the store lacks, groups
/// the small ones into blocks, compresses them and appends them to the open pack. Workers run on every
/// core; the reader waits only when all of them are busy (bounded memory: cores + 1 batches in flight).
///
/// Nothing is visible to readers until `commit`, which closes the pack (fsync, rename) and returns each
/// file's chunk list. Holding the store's lock shared keeps `gc` away for the whole session.
public final class StoreWriter: @unchecked Sendable {
  public let store: ChunkStore
  private let level: Int32
  private let lock: FileLock
  private let group = DispatchGroup()
  private let slots: DispatchSemaphore
  private let batchCapacity = 4 << 20

  private var batch: [UInt8]
  private var used = 0
  private var pending: [(seq: Int, start: Int, length: Int)] = []
  private var nextSeq = 0
  /// Per file, its chunks as (sequence number, offset); digests arrive from workers by sequence number.
  private var files: [[(seq: Int, offset: Int64, length: Int)]] = []
  private var bytesIn: Int64 = 0

  private let shared = Mutex(SharedState())
  private let pack: PackWriter

  struct SharedState {
    var claimed = Set<Digest>()
    var digests: [Int: Digest] = [:]
    var chunksNew = 0
    var chunksReused = 0
    var bytesNew: Int64 = 0
    var firstError: (any Error)?
  }

  public init(store: ChunkStore, level: Int32 = 3, workers: Int = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) throws {
    self.store = store
    self.level = level
    guard let lock = try FileLock.acquire(store.root + "/lock", exclusive: false) else {
      throw CatalogError.notAStore(path: store.root, reason: "cannot lock")
    }
    self.lock = lock
    // gc may have run between opening the store and taking the lock: dedup only against what is there now.
    try store.reloadPacks()
    self.slots = DispatchSemaphore(value: max(1, workers) + 1)
    self.batch = [UInt8](repeating: 0, count: batchCapacity)
    self.pack = PackWriter(store: store)
  }

  /// Adds one file of `size` bytes whose content `read` supplies, and returns its number for `commit`'s result.
  /// `read` fills as much of the buffer as it can and returns the count; returning 0 early is an error.
  public func addFile(size: Int64, read: (UnsafeMutableRawBufferPointer) throws -> Int) throws -> Int {
    let file = files.count
    files.append([])
    var remaining = size
    var chunkStart = used
    var offset: Int64 = 0
    bytesIn += size
    while true {
      if remaining > 0 && used < batchCapacity {
        let want = Int(min(Int64(batchCapacity - used), remaining))
        let n = try batch.withUnsafeMutableBytes { b in
          try read(UnsafeMutableRawBufferPointer(rebasing: b[used..<(used + want)]))
        }
        if n <= 0 { throw StoreError.shortFile(expected: size, missing: remaining) }
        used += n
        remaining -= Int64(n)
      }
      let atEnd = remaining == 0
      while chunkStart < used {
        let cut = batch.withUnsafeBytes { b in
          Chunker.cut(UnsafeRawBufferPointer(rebasing: b[chunkStart..<used]), atEnd: atEnd)
        }
        guard let length = cut else { break }
        pending.append((nextSeq, chunkStart, length))
        files[file].append((nextSeq, offset, length))
        nextSeq += 1
        chunkStart += length
        offset += Int64(length)
      }
      if atEnd && chunkStart == used { return file }
      if used == batchCapacity {
        // The batch is full: send it, and carry the unfinished chunk's bytes into the next one.
        let carry = Array(batch[chunkStart..<used])
        submit()
        batch.withUnsafeMutableBytes { $0.copyBytes(from: carry) }
        used = carry.count
        chunkStart = 0
      }
    }
  }

  /// Sends the current batch to a worker and starts an empty one.
  private func submit() {
    guard !pending.isEmpty else {
      used = 0
      return
    }
    let data = batch
    let chunks = pending
    pending = []
    used = 0
    batch = [UInt8](repeating: 0, count: batchCapacity)
    slots.wait()
    group.enter()
    DispatchQueue.global().async { [self] in
      defer {
        slots.signal()
        group.leave()
      }
      do { try process(data, chunks) } catch { shared.withLock { if $0.firstError == nil { $0.firstError = error } } }
    }
  }

  /// A worker's share: hash, keep what is new, block, compress, append to the pack.
  private func process(_ data: [UInt8], _ chunks: [(seq: Int, start: Int, length: Int)]) throws {
    let digests = data.withUnsafeBytes { b in
      chunks.map { Digest.of(UnsafeRawBufferPointer(rebasing: b[$0.start..<($0.start + $0.length)])) }
    }
    var fresh: [(digest: Digest, start: Int, length: Int)] = []
    shared.withLock { s in
      for (c, d) in zip(chunks, digests) {
        s.digests[c.seq] = d
        if !store.contains(d) && s.claimed.insert(d).inserted {
          fresh.append((d, c.start, c.length))
        } else {
          s.chunksReused += 1
        }
      }
      s.chunksNew += fresh.count
      s.bytesNew += Int64(fresh.reduce(0) { $0 + $1.length })
    }
    var i = 0
    while i < fresh.count {
      // A block: consecutive new chunks until it holds blockTarget bytes.
      var j = i + 1
      var raw = fresh[i].length
      while j < fresh.count && raw < StoreLayout.blockTarget {
        raw += fresh[j].length
        j += 1
      }
      var block = [UInt8]()
      block.reserveCapacity(raw)
      var members: [(Digest, UInt32, UInt32)] = []
      for k in i..<j {
        members.append((fresh[k].digest, UInt32(block.count), UInt32(fresh[k].length)))
        block.append(contentsOf: data[fresh[k].start..<(fresh[k].start + fresh[k].length)])
      }
      let packed = block.withUnsafeBytes { Zstd.compress($0, level: level, minMatch: level == 3 ? 4 : nil) }
      // Compression that saves under 3% is not worth a decompression on every read.
      let worth = packed.count < block.count - block.count / 32
      try pack.append(worth ? packed : block, rawLength: UInt32(block.count), compressed: worth, chunks: members)
      i = j
    }
  }

  /// Waits for the workers, commits the pack and makes the new chunks readable (the lock stays held).
  /// Returns, per file number, its chunks in order.
  public func commit() throws -> (files: [[FileChunk]], statistics: WriteStatistics) {
    submit()
    group.wait()
    if let error = shared.withLock({ $0.firstError }) {
      pack.discard()
      lock.unlock()
      throw error
    }
    try pack.commit()
    try store.reloadPacks()
    let (digests, stats) = shared.withLock { s in
      (
        s.digests,
        WriteStatistics(bytesIn: bytesIn, bytesNew: s.bytesNew, chunksNew: s.chunksNew, chunksReused: s.chunksReused)
      )
    }
    var statistics = stats
    statistics.bytesStored = pack.bytesWritten
    let result = files.map {
      $0.map { FileChunk(digest: digests[$0.seq]!, offset: $0.offset, length: UInt32($0.length)) }
    }
    return (result, statistics)
  }

  /// Ends the session, letting gc run again. Call after the image index that references the new chunks
  /// is written: until then, gc would see them as garbage.
  public func close() { lock.unlock() }

  /// Abandons the session: the open pack's temporary files are removed. Packs already committed because
  /// the session passed `packTarget` stay until `gc`, which finds no image using them.
  public func abort() {
    submit()
    group.wait()
    pack.discard()
    lock.unlock()
  }
}
