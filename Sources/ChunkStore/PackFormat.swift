import Codecs
import LinuxSystem

/// The on-disk layout of a store's packs, version 2 (`StoreLocation` owns the version and where each file
/// is; this is what is in the files). Version 2 says the store may hold zstd-framed image indexes,
/// which lazyfs before them cannot read; this lazyfs reads either form of index in either version (a few
/// stores written while the version was still 1 hold framed ones), and a writer moves a version 1 store
/// to 2 before it writes anything. Older binaries refuse a version 2 store where they open the store
/// (import, export, verify, gc); an older `lazyfs mount` reads the index first and fails on it instead.
///
/// ```
/// ROOT/layout              "lazyfs-store 2\n": refuses to open a store of a version it does not know
/// ROOT/lock                flock(2): imports hold it shared, gc exclusive (gc never races an import)
/// ROOT/packs/ID.pack       "LZPACK01", then zstd frames (or raw blocks) back to back
/// ROOT/packs/ID.idx        the pack's chunk table (below); ID = hex SHA-256 of the .idx bytes
/// ROOT/indexes/HEX         image indexes, each one zstd frame of the index (HEX = SHA-256 of the
///                          decompressed index = the image digest; a raw index, as written before, reads too)
/// ROOT/names/NAME          "sha256:HEX\n": a human name for an image
/// ROOT/tmp/                files being written; never read, removed by gc
/// ```
///
/// Why packs: a store of millions of chunks as millions of files is slow to write (a create, a write and a
/// rename per chunk), slow to fsck (a directory walk) and slow to publish (a request per file). Packs hold
/// many chunks in one append-only file, and a sorted fixed-width index finds any chunk by binary search.
///
/// Why blocks: small frames compress badly (zstd on independent 64 KiB pieces of a Debian tree stores 8 %
/// more than on 256 KiB pieces, and is slower). New chunks are grouped, in the order the import met them
/// (neighbours in a directory, usually read together), into blocks of at least `blockTarget` bytes (or what
/// is left of a batch), each compressed as one zstd frame. A chunk is then (block, offset in block, length).
/// The cost is read amplification on a cold read: at most one block (under 512 KiB, about 0.3 ms of zstd)
/// is decompressed for any chunk, and the reader's block cache serves the neighbours.
///
/// Crash safety: a pack and its index are written under tmp/, fsynced, then renamed into packs/ (the .pack
/// first, the .idx last). An .idx in packs/ is the commit point: a .pack without one is garbage from a crash,
/// ignored by readers and verify, and removed by gc. An image index is written only after every pack it
/// uses is committed, and a name only after its index.
public enum StoreLayout {
  public static let packMagic: [UInt8] = Array("LZPACK01".utf8)
  public static let indexMagic: [UInt8] = Array("LZIDX001".utf8)
  /// New chunks are grouped into blocks of at least this size (a block ends at the first chunk past it).
  public static let blockTarget = 256 << 10
  /// A pack is closed and a new one begun past this size; bounds gc's repacking work.
  public static let packTarget: Int64 = 256 << 20
  /// The largest image index a store or remote file may decompress to (1 GiB: some 10 million entries), so
  /// that a hostile frame header cannot make a reader allocate at will. `IndexFormat.maximumSize` likewise.
  public static let maximumIndexSize = 1 << 30
}

/// Where a chunk lives: which pack, which block, and where in the decompressed block.
public struct ChunkLocation: Sendable, Equatable {
  public var pack: UInt32
  public var blockOffset: UInt64
  public var blockStoredLength: UInt32
  public var blockRawLength: UInt32
  public var offsetInBlock: UInt32
  public var length: UInt32
  public var compressed: Bool
}

/// One fixed-width (64-byte, little-endian) record of a pack index, sorted by digest:
/// digest[32] blockOffset u64 blockStored u32 blockRaw u32 offsetInBlock u32 length u32 flags u32 reserved u32.
/// The file is `indexMagic`, a u64 record count, the records, and a SHA-256 of all that before it.
enum PackIndexRecord {
  static let size = 64
  static let flagCompressed: UInt32 = 1

  static func encode(_ d: Digest, _ l: ChunkLocation, into p: UnsafeMutableRawPointer) {
    d.write(to: p)
    p.storeBytes(of: l.blockOffset.littleEndian, toByteOffset: 32, as: UInt64.self)
    p.storeBytes(of: l.blockStoredLength.littleEndian, toByteOffset: 40, as: UInt32.self)
    p.storeBytes(of: l.blockRawLength.littleEndian, toByteOffset: 44, as: UInt32.self)
    p.storeBytes(of: l.offsetInBlock.littleEndian, toByteOffset: 48, as: UInt32.self)
    p.storeBytes(of: l.length.littleEndian, toByteOffset: 52, as: UInt32.self)
    p.storeBytes(of: (l.compressed ? flagCompressed : 0).littleEndian, toByteOffset: 56, as: UInt32.self)
    p.storeBytes(of: UInt32(0), toByteOffset: 60, as: UInt32.self)
  }

  static func decode(_ p: UnsafeRawPointer, pack: UInt32) -> (Digest, ChunkLocation) {
    let d = Digest(bytes: UnsafeRawBufferPointer(start: p, count: 32))
    func u32(_ o: Int) -> UInt32 { UInt32(littleEndian: p.loadUnaligned(fromByteOffset: o, as: UInt32.self)) }
    let loc = ChunkLocation(
      pack: pack,
      blockOffset: UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 32, as: UInt64.self)),
      blockStoredLength: u32(40), blockRawLength: u32(44), offsetInBlock: u32(48), length: u32(52),
      compressed: u32(56) & flagCompressed != 0)
    return (d, loc)
  }

  /// Serialises a pack's chunk table; returns the file bytes and the pack ID (the digest of those bytes).
  static func serialize(_ entries: [(Digest, ChunkLocation)]) -> (bytes: [UInt8], id: Digest) {
    let sorted = entries.sorted { $0.0 < $1.0 }
    let headerSize = 16
    var bytes = [UInt8](repeating: 0, count: headerSize + sorted.count * size + 32)
    bytes.withUnsafeMutableBytes { b in
      b.copyBytes(from: StoreLayout.indexMagic)
      b.storeBytes(of: UInt64(sorted.count).littleEndian, toByteOffset: 8, as: UInt64.self)
      for (i, (d, l)) in sorted.enumerated() { encode(d, l, into: b.baseAddress! + headerSize + i * size) }
      let body = UnsafeRawBufferPointer(rebasing: b[0..<(b.count - 32)])
      Digest.of(body).write(to: b.baseAddress! + b.count - 32)
    }
    return (bytes, Digest.of(bytes))
  }

  /// Parses a pack index, checking its magic, its length and its own checksum.
  static func parse(_ bytes: [UInt8], pack: UInt32) -> [(Digest, ChunkLocation)]? {
    guard bytes.count >= 48, Array(bytes[0..<8]) == StoreLayout.indexMagic else { return nil }
    return bytes.withUnsafeBytes { b -> [(Digest, ChunkLocation)]? in
      let count = Int(UInt64(littleEndian: b.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
      guard count <= (bytes.count - 48) / size, 16 + count * size + 32 == bytes.count else { return nil }
      let body = UnsafeRawBufferPointer(rebasing: b[0..<(b.count - 32)])
      let sum = Digest(bytes: UnsafeRawBufferPointer(rebasing: b[(b.count - 32)...]))
      guard Digest.of(body) == sum else { return nil }
      return (0..<count).map { decode(b.baseAddress! + 16 + $0 * size, pack: pack) }
    }
  }
}

/// What a reader outside the store (a remote copy of its packs) needs of the pack format.
public enum PackFormat {
  /// A whole pack, in memory, of `chunks` in the order given: blocks of at least `StoreLayout.blockTarget`
  /// bytes, each compressed as the store compresses (zstd, kept raw where that saves under 3 %). Returns
  /// the .pack bytes, the .idx bytes and the pack's ID. For packs made outside an import, such as the
  /// working-set pack `lazyfs publish` writes beside an image that has a profile.
  public static func build(
    _ chunks: [(digest: Digest, bytes: [UInt8])], level: Int32 = 3, blockTarget: Int = StoreLayout.blockTarget
  ) -> (
    pack: [UInt8], index: [UInt8], id: Digest
  ) {
    var pack = StoreLayout.packMagic
    var entries: [(Digest, ChunkLocation)] = []
    var i = 0
    while i < chunks.count {
      var block: [UInt8] = []
      var members: [(Digest, UInt32, UInt32)] = []
      while i < chunks.count && (block.isEmpty || block.count < blockTarget) {
        members.append((chunks[i].digest, UInt32(block.count), UInt32(chunks[i].bytes.count)))
        block += chunks[i].bytes
        i += 1
      }
      let packed = block.withUnsafeBytes { Zstd.compress($0, level: level, minMatch: level == 3 ? 4 : nil) }
      let worth = packed.count < block.count - block.count / 32
      let stored = worth ? packed : block
      for (d, at, length) in members {
        entries.append(
          (
            d,
            ChunkLocation(
              pack: 0, blockOffset: UInt64(pack.count), blockStoredLength: UInt32(stored.count),
              blockRawLength: UInt32(block.count), offsetInBlock: at, length: length, compressed: worth)
          ))
      }
      pack += stored
    }
    let (index, id) = PackIndexRecord.serialize(entries)
    return (pack, index, id)
  }

  /// Parses a pack index (`.idx` bytes), checking its magic, length and checksum; nil when corrupt.
  public static func parseIndex(_ bytes: [UInt8], pack: UInt32) -> [(Digest, ChunkLocation)]? {
    PackIndexRecord.parse(bytes, pack: pack)
  }

  /// A block's bytes from its stored bytes (as read from the pack at `blockOffset`): decompressed when the
  /// block is. Its chunks are then cut out by `chunk(_:at:block:)`, which checks each one.
  public static func block(at loc: ChunkLocation, stored: [UInt8]) throws -> [UInt8] {
    guard stored.count == Int(loc.blockStoredLength) else {
      throw CodecError("block of \(stored.count) bytes, the pack index says \(loc.blockStoredLength)")
    }
    guard loc.compressed else { return stored }
    var block = [UInt8](repeating: 0, count: Int(loc.blockRawLength))
    try stored.withUnsafeBytes { s in try block.withUnsafeMutableBytes { try Zstd.decompress(s, into: $0) } }
    return block
  }

  /// A chunk cut out of its (decompressed) block and checked against `digest`. Corrupt bytes are an error,
  /// never returned.
  public static func chunk(_ digest: Digest, at loc: ChunkLocation, block: [UInt8]) throws -> [UInt8] {
    let start = Int(loc.offsetInBlock)
    let end = start + Int(loc.length)
    guard end <= block.count else { throw CodecError("chunk lies outside its block") }
    let chunk = Array(block[start..<end])
    guard Digest.of(chunk) == digest else { throw CodecError("content does not match its digest") }
    return chunk
  }
}
