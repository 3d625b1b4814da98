import Codecs
import Glibc
import LinuxSystem
import StoreCatalog
import Synchronization

/// A content-addressed, deduplicating, compressed store of chunks, plus the image indexes and names that
/// refer to them. See `StoreLayout` for the files and why they are laid out so.
///
/// Opening a store reads every committed pack index into one hash table (64 bytes a chunk on disk,
/// about 80 in memory): a lookup is then one hash probe, whatever the number of packs.
public final class ChunkStore: @unchecked Sendable {
  public let root: String
  public let location: StoreLocation
  /// Pack IDs by their number in `ChunkLocation.pack`.
  public private(set) var packIDs: [Digest] = []
  private var locations: [Digest: ChunkLocation] = [:]
  private let packFiles = Mutex<[UInt32: SharedDescriptor]>([:])
  private let blocks = BlockCache(capacity: 16)

  public var packsDirectory: String { location.packsDirectory }
  public var tmpDirectory: String { location.tmpDirectory }
  public var indexesDirectory: String { location.indexesDirectory }
  public var namesDirectory: String { location.namesDirectory }

  /// Opens the store at `root`, creating it when `create` is set and nothing is there. `create` is for
  /// writers (import): it also moves an older store to the current layout version.
  public init(root: String, create: Bool = false) throws {
    self.root = root
    location = StoreLocation(root: root)
    if create && !Files.exists(location.layoutFile) {
      for dir in location.directories { try Files.makeDirectories(dir, mode: 0o700) }
      try Files.writeAtomically(location.layoutFile, StoreLocation.layoutContents)
    }
    let version = try location.checkVersion()
    // A writer may add what older readers cannot read (zstd-framed indexes): it marks the store first, so
    // that an older lazyfs refuses the store by name instead of failing on an index it cannot decode.
    if create && version < StoreLocation.version {
      try Files.writeAtomically(location.layoutFile, StoreLocation.layoutContents)
    }
    try reloadPacks()
  }

  /// The IDs of the committed packs on disk: those with an .idx (a .pack alone is an interrupted write).
  public func committedPackIDs() throws -> [Digest] {
    try Files.list(packsDirectory).compactMap { name in
      name.hasSuffix(".idx") ? Digest(hex: name.dropLast(4)) : nil
    }.sorted()
  }

  /// Reads every committed pack index again (after an import or gc in this or another process).
  /// Not safe while other threads read through this object: a long-lived reader (a mount) opens the store
  /// once, pins its packs, and never reloads.
  public func reloadPacks() throws {
    var ids: [Digest] = []
    var table: [Digest: ChunkLocation] = [:]
    for id in try committedPackIDs() {
      let path = "\(packsDirectory)/\(id.hex).idx"
      guard let entries = PackIndexRecord.parse(try Files.read(path), pack: UInt32(ids.count)) else {
        throw StoreError.corruptPackIndex(path: path)
      }
      ids.append(id)
      table.reserveCapacity(table.count + entries.count)
      for (d, l) in entries where table[d] == nil { table[d] = l }
    }
    packFiles.withLock { $0 = [:] }
    blocks.clear()
    packIDs = ids
    locations = table
  }

  /// Opens every pack now: a snapshot that a later `gc` (which deletes or rewrites packs) cannot take away,
  /// since an open file outlives its unlinking. A mount calls this when it starts.
  public func pinPacks() throws {
    for n in packIDs.indices { _ = try packFile(UInt32(n)) }
  }

  public var chunkCount: Int { locations.count }
  public func contains(_ digest: Digest) -> Bool { locations[digest] != nil }
  public func location(of digest: Digest) -> ChunkLocation? { locations[digest] }
  public var allChunks: Dictionary<Digest, ChunkLocation>.Keys { locations.keys }

  func packFile(_ pack: UInt32) throws -> SharedDescriptor {
    try packFiles.withLock { files in
      if let file = files[pack] { return file }
      let file = SharedDescriptor(
        try FileDescriptor.open("\(packsDirectory)/\(packIDs[Int(pack)].hex).pack", O_RDONLY))
      files[pack] = file
      return file
    }
  }

  /// Reads and decompresses the block holding `loc`, checking nothing yet (callers check chunk digests).
  func readBlock(_ loc: ChunkLocation) throws -> [UInt8] {
    let key = BlockCache.Key(pack: loc.pack, offset: loc.blockOffset)
    if let cached = blocks.get(key) { return cached }
    let pack = try packFile(loc.pack)
    var stored = [UInt8](repeating: 0, count: Int(loc.blockStoredLength))
    let n = try stored.withUnsafeMutableBytes { try pack.fd.pread(into: $0, at: Int64(loc.blockOffset)) }
    let packName = packIDs[Int(loc.pack)].hex
    guard n == stored.count else {
      throw StoreError.corruptChunk(
        Digest.of([]), pack: packName, reason: "pack is truncated at offset \(loc.blockOffset)")
    }
    let block: [UInt8]
    do { block = try PackFormat.block(at: loc, stored: stored) } catch {
      throw StoreError.corruptChunk(Digest.of([]), pack: packName, reason: "\(error) at offset \(loc.blockOffset)")
    }
    blocks.put(key, block)
    return block
  }

  /// The bytes of a chunk, checked against its digest: corrupt bytes are never returned.
  public func read(_ digest: Digest) throws -> [UInt8] {
    guard let loc = locations[digest] else { throw StoreError.missingChunk(digest) }
    let block: [UInt8]
    do { block = try readBlock(loc) } catch StoreError.corruptChunk(_, let pack, let reason) {
      throw StoreError.corruptChunk(digest, pack: pack, reason: reason)
    }
    do { return try PackFormat.chunk(digest, at: loc, block: block) } catch {
      throw StoreError.corruptChunk(digest, pack: packIDs[Int(loc.pack)].hex, reason: "\(error)")
    }
  }
}

/// A few recently decompressed blocks: neighbouring small files share a block, and are usually read together.
public final class BlockCache: Sendable {
  public struct Key: Hashable, Sendable {
    public var pack: UInt32
    public var offset: UInt64
    public init(pack: UInt32, offset: UInt64) { (self.pack, self.offset) = (pack, offset) }
  }
  private let state = Mutex<(entries: [Key: [UInt8]], order: [Key])>(([:], []))
  let capacity: Int
  public init(capacity: Int) { self.capacity = capacity }

  public func get(_ key: Key) -> [UInt8]? { state.withLock { $0.entries[key] } }

  public func remove(_ key: Key) {
    state.withLock { s in
      if s.entries.removeValue(forKey: key) != nil { s.order.removeAll { $0 == key } }
    }
  }

  public func put(_ key: Key, _ block: [UInt8]) {
    state.withLock { s in
      if s.entries.updateValue(block, forKey: key) == nil { s.order.append(key) }
      if s.order.count > capacity { s.entries[s.order.removeFirst()] = nil }
    }
  }

  func clear() { state.withLock { $0 = ([:], []) } }
}
