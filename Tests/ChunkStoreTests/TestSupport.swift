import ChunkStore
import Codecs
import Glibc
import LinuxSystem
import TestSupport
import Testing

/// A new, empty store in a temporary directory.
struct TestStore {
  let dir: TempDir
  let store: ChunkStore
  var root: String { store.root }

  init() throws {
    dir = try TempDir()
    store = try ChunkStore(root: dir.path + "/store", create: true)
  }

  func remove() { dir.remove() }

  /// The same store opened again, as another process would see it (no cached fds or blocks).
  func reopened() throws -> ChunkStore { try ChunkStore(root: root) }
}

/// `count` incompressible bytes, the same for the same seed.
func randomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
  var rng = SplitMix64(seed: seed)
  var out = [UInt8](repeating: 0, count: count)
  out.withUnsafeMutableBytes { b in
    var i = 0
    while i < b.count {
      var word = rng.next()
      let n = min(8, b.count - i)
      withUnsafeBytes(of: &word) { w in
        for k in 0..<n { b[i + k] = w[k] }
      }
      i += n
    }
  }
  return out
}

/// `count` bytes of compressible, line-structured text that still varies enough to be cut into many chunks.
func textBytes(_ count: Int, seed: UInt64) -> [UInt8] {
  let words = ["chunk", "store", "pack", "index", "lazy", "image", "layer", "block", "digest", "mount", "fuse"]
  var rng = SplitMix64(seed: seed)
  var out: [UInt8] = []
  out.reserveCapacity(count + 32)
  var line = 0
  while out.count < count {
    line += 1
    out += Array("\(line): ".utf8)
    for _ in 0..<8 { out += Array(words[Int(rng.next() % UInt64(words.count))].utf8) + [0x20] }
    out.append(0x0a)
  }
  return Array(out[0..<count])
}

/// The chunk lengths of `data` cut as one whole file.
func chunkLengths(_ data: [UInt8]) -> [Int] {
  data.withUnsafeBytes { b in
    var lengths: [Int] = []
    var at = 0
    while at < b.count {
      guard let n = Chunker.cut(UnsafeRawBufferPointer(rebasing: b[at...]), atEnd: true), n > 0 else {
        Issue.record("Chunker.cut made no progress at offset \(at) of \(b.count)")
        return lengths
      }
      lengths.append(n)
      at += n
    }
    return lengths
  }
}

/// The digests of the chunks of `data` cut as one whole file.
func chunkDigests(_ data: [UInt8]) -> [Digest] {
  var at = 0
  return chunkLengths(data).map { n in
    defer { at += n }
    return Digest.of(Array(data[at..<(at + n)]))
  }
}

/// Writes `files` in one `StoreWriter` session and commits it. `readSize` caps each read the writer asks for,
/// to exercise short reads.
func writeFiles(
  _ files: [[UInt8]], to store: ChunkStore, readSize: Int = .max
) throws -> (files: [[FileChunk]], statistics: WriteStatistics) {
  let writer = try StoreWriter(store: store)
  defer { writer.close() }
  for data in files { try add(data, to: writer, readSize: readSize) }
  return try writer.commit()
}

/// Adds one file held in memory to a session.
@discardableResult
func add(_ data: [UInt8], to writer: StoreWriter, readSize: Int = .max) throws -> Int {
  var at = 0
  return try writer.addFile(size: Int64(data.count)) { buffer in
    let n = min(buffer.count, data.count - at, readSize)
    data.withUnsafeBytes { src in
      buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: src[at..<(at + n)]))
    }
    at += n
    return n
  }
}

/// The bytes of a file put back together from its chunks, as a reader of the store would.
func reassemble(_ chunks: [FileChunk], from store: ChunkStore) throws -> [UInt8] {
  var out: [UInt8] = []
  for c in chunks {
    #expect(c.offset == Int64(out.count), "chunks must be contiguous")
    let bytes = try store.read(c.digest)
    #expect(bytes.count == Int(c.length))
    out += bytes
  }
  return out
}

/// The test's own image index format: the image's chunk digests, 32 bytes each, back to back.
enum TestImage {
  static func bytes(_ digests: [Digest]) -> [UInt8] { digests.flatMap(\.bytes) }

  static func bytes(_ files: [[FileChunk]]) -> [UInt8] { bytes(files.flatMap { $0.map(\.digest) }) }

  static func chunks(_ bytes: [UInt8]) throws -> [Digest] {
    guard bytes.count % 32 == 0 else { throw TestImageError() }
    return stride(from: 0, to: bytes.count, by: 32).map { at in
      Array(bytes[at..<(at + 32)]).withUnsafeBytes { Digest(bytes: $0) }
    }
  }
}

struct TestImageError: Error {}

// MARK: Damaging files

/// Flips every bit of the byte at `offset` of the file at `path`, in place (as a failing disk would).
func flipByte(_ path: String, at offset: Int) throws {
  let fd = try FileDescriptor.open(path, O_RDWR)
  var byte: UInt8 = 0
  _ = try withUnsafeMutableBytes(of: &byte) { try fd.pread(into: $0, at: Int64(offset)) }
  byte ^= 0xff
  try withUnsafeBytes(of: &byte) { try fd.pwrite($0, at: Int64(offset)) }
}

func truncateFile(_ path: String, to length: Int) throws {
  _ = try syscall("truncate", path: path) { truncate(path, off_t(length)) }
}

func fileSize(_ path: String) -> Int {
  var st = stat()
  return stat(path, &st) == 0 ? Int(st.st_size) : -1
}

/// The path of the pack that holds `digest`.
func packPath(of digest: Digest, in store: ChunkStore) throws -> String {
  let loc = try #require(store.location(of: digest))
  return "\(store.packsDirectory)/\(store.packIDs[Int(loc.pack)].hex).pack"
}

/// Whether the store lock is free (no session holds it): takes it exclusively without waiting, and lets go.
func storeLockIsFree(_ store: ChunkStore) throws -> Bool {
  guard let lock = try FileLock.acquire(store.root + "/lock", exclusive: true, wait: false) else { return false }
  lock.unlock()
  return true
}
