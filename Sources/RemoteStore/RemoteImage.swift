import ChunkStore
import Codecs
import Dispatch
import Glibc
import LinuxSystem
import StoreCatalog
import Synchronization

/// One image of a published store, read over HTTP: its index is fetched (and checked) when opened (or read
/// from the disk cache: see `init`), and its chunks one block at a time, on demand, by range request. Fetched blocks go to the disk cache.
/// Concurrent requests for chunks of one block cause one fetch.
public final class RemoteImage: @unchecked Sendable {
  public let baseURL: String
  public let digest: Digest
  /// The image index's bytes, checked against `digest`.
  public let indexBytes: [UInt8]
  public let client: HTTPClient
  let cache: DiskCache?
  let packIDs: [Digest]
  let locations: [Digest: ChunkLocation]
  let flights = Mutex<[String: DispatchGroup]>([:])
  private let blocks = BlockCache(capacity: 16)
  let counters = Mutex<(requests: Int, bytes: Int64, cacheHits: Int, blockHits: Int)>((0, 0, 0, 0))

  /// Opens `reference` (a full digest, or a name published with the image) at `url`.
  ///
  /// Everything an image's digest names is immutable: its index, the list of its packs and their indexes
  /// (each checked against its digest). They are kept in the disk cache when fetched, so that opening an
  /// image by digest again, on a node that has seen it, makes no request at all (a warm mount), even with
  /// the remote away. A name is mutable: opening by name always asks the remote what it names now.
  public init(url: String, reference: String, client: HTTPClient = HTTPClient(), cache: DiskCache?) throws {
    baseURL = url.hasSuffix("/") ? String(url.dropLast()) : url
    self.client = client
    self.cache = cache
    if let d = Digest(hex: reference), let cache, let warm = Self.cachedMetadata(d, cache: cache) {
      (digest, indexBytes, packIDs, locations) = (d, warm.index, warm.packs, warm.locations)
      return
    }
    let baseURL = self.baseURL
    // By name, the layout is checked first: a directory that is not a remote store at all says so, rather
    // than that it lacks the name.
    let byName = Digest(hex: reference) == nil
    if byName { try Self.checkLayout(try client.get(baseURL + "/layout"), baseURL: baseURL) }
    let digest = try Digest(hex: reference) ?? Self.digest(named: reference, at: baseURL, client: client)
    self.digest = digest
    // The layout, the index, the pack list with its pack indexes, and the profile, all at once: on a
    // cold node each is a round trip or more (a fresh connection's slow start), one after another 370 ms
    // at 20 ms RTT for the python image.
    final class Results: Sendable {
      let layout = Mutex<Result<[UInt8], any Error>?>(nil)
      let ranges = Mutex<(any Error)?>(nil)
      let index = Mutex<Result<[UInt8], any Error>?>(nil)
      let tables = Mutex<Result<(list: [UInt8], packs: [Digest], locations: [Digest: ChunkLocation]), any Error>?>(nil)
    }
    let results = Results()
    Threads.run(5) { part in
      switch part {
      case 4:
        // Every block is read by range: a server that ignores Range (`python3 -m http.server`) would
        // answer each with the whole pack. One byte of the layout file says which kind this is.
        do { _ = try client.get(baseURL + "/layout", range: 0..<1) } catch { results.ranges.withLock { $0 = error } }
      case 0: if !byName { results.layout.withLock { $0 = Result { try client.get(baseURL + "/layout") } } }
      case 1:
        let got = Result { try Self.fetchIndex(digest, baseURL: baseURL, client: client, cache: cache) }
        results.index.withLock { $0 = got }
      case 2:
        let got = Result { () throws -> (list: [UInt8], packs: [Digest], locations: [Digest: ChunkLocation]) in
          let listURL = "\(baseURL)/images/\(digest.hex)"
          let list = try client.get(listURL)
          // Never nil with a client: what it cannot have is thrown.
          let tables = try Self.packTables(list, listURL: listURL, baseURL: baseURL, cache: cache, client: client)!
          return (list: list, packs: tables.packs, locations: tables.locations)
        }
        results.tables.withLock { $0 = got }
      default: _ = try? Self.fetchProfile(digest, baseURL: baseURL, client: client, cache: cache, refresh: false)
      }
    }
    if let layout = try results.layout.withLock({ $0 })?.get() { try Self.checkLayout(layout, baseURL: baseURL) }
    if let e = results.ranges.withLock({ $0 }) as? RemoteError,
      e.reason == HTTPClient.tooMuch || e.reason.hasPrefix("HTTP 200,")
    {
      throw RemoteError(
        baseURL,
        "the server does not honour Range requests (asked for 1 byte of /layout: \(e.reason)); lazyfs reads "
          + "blocks by range, so serve the directory with a server that does (nginx, Caddy, an object store)")
    }
    indexBytes = try results.index.withLock { $0! }.get()
    let tables = try results.tables.withLock { $0! }.get()
    // Last, once every pack index it names is in the cache: the list is what says the image is all there.
    cache?.put(Self.packListKey(digest), tables.list)
    (packIDs, locations) = (tables.packs, tables.locations)
  }

  static func checkLayout(_ bytes: [UInt8], baseURL: String) throws {
    let layout = String(decoding: bytes, as: UTF8.self)
    guard RemoteLayout.readable.contains(layout) else {
      throw RemoteError(baseURL + "/layout", "not a lazyfs remote store (layout \"\(layout.prefix(30))\")")
    }
  }

  /// The image index as the store holds it (see `ChunkStore.unpackIndex`), from the cache or fetched
  /// (then cached as fetched), checked against the digest; decompressed.
  static func fetchIndex(_ digest: Digest, baseURL: String, client: HTTPClient, cache: DiskCache?) throws -> [UInt8] {
    if let file = cache?.get(indexKey(digest)), let index = try? ChunkStore.unpackIndex(file, digest: digest) {
      return index
    }
    let indexURL = "\(baseURL)/indexes/\(digest.hex)"
    let file = try client.get(indexURL)
    guard let index = try? ChunkStore.unpackIndex(file, digest: digest) else {
      throw RemoteError(indexURL, "content does not match digest")
    }
    cache?.put(indexKey(digest), file)
    return index
  }

  /// The packs a pack list names and the chunk table of their indexes, each index checked against its ID:
  /// from the disk cache where it is there whole, else fetched with `client` (and then cached). Without a
  /// client (opening from the cache alone), nil as soon as something is missing or wrong; with one, what is
  /// wrong is thrown, naming the list or the index at fault.
  static func packTables(
    _ list: [UInt8], listURL: String, baseURL: String, cache: DiskCache?, client: HTTPClient?
  ) throws -> (packs: [Digest], locations: [Digest: ChunkLocation])? {
    var ids: [Digest] = []
    var table: [Digest: ChunkLocation] = [:]
    for line in String(decoding: list, as: UTF8.self).split(separator: "\n") {
      guard let id = Digest(hex: line) else {
        guard client != nil else { return nil }
        throw RemoteError(listURL, "bad pack ID \"\(line.prefix(70))\"")
      }
      let idxURL = "\(baseURL)/packs/\(id.hex).idx"
      let cached = cache?.get(packIndexKey(id)).flatMap { Digest.of($0) == id ? $0 : nil }
      guard let bytes = try cached ?? client?.get(idxURL) else { return nil }
      guard cached != nil || Digest.of(bytes) == id, let entries = PackFormat.parseIndex(bytes, pack: UInt32(ids.count))
      else {
        guard client != nil else { return nil }
        throw RemoteError(idxURL, "corrupt pack index (its content does not match its name)")
      }
      if cached == nil { cache?.put(packIndexKey(id), bytes) }
      ids.append(id)
      for (d, l) in entries where table[d] == nil { table[d] = l }
    }
    return (ids, table)
  }

  /// The image a name published at `url` points to now (one request: names are mutable).
  public static func digest(named reference: String, at url: String, client: HTTPClient = HTTPClient()) throws
    -> Digest
  {
    let baseURL = url.hasSuffix("/") ? String(url.dropLast()) : url
    guard let name = ImageName(reference) else {
      throw RemoteError(baseURL, "\"\(reference)\" is neither an image digest nor an image name")
    }
    let nameURL = baseURL + "/names/" + name.fileName
    let text = String(decoding: try client.get(nameURL), as: UTF8.self)
    guard let digest = Digest(hex: text.hasSuffix("\n") ? String(text.dropLast()) : text) else {
      throw RemoteError(nameURL, "does not hold a digest")
    }
    return digest
  }

  /// A block's name in the disk cache.
  static func blockKey(pack: Digest, offset: UInt64) -> String { "\(pack.hex)-\(offset)" }
  static func indexKey(_ image: Digest) -> String { "index-\(image.hex)" }
  static func packListKey(_ image: Digest) -> String { "packs-\(image.hex)" }
  static func packIndexKey(_ pack: Digest) -> String { "idx-\(pack.hex)" }

  /// The image's index and pack tables from the disk cache alone, each checked against its digest; nil
  /// when any of them is missing or damaged there (then they are fetched, and the cache mended).
  static func cachedMetadata(_ image: Digest, cache: DiskCache) -> (
    index: [UInt8], packs: [Digest], locations: [Digest: ChunkLocation]
  )? {
    guard let list = cache.get(packListKey(image)), let file = cache.get(indexKey(image)),
      let index = try? ChunkStore.unpackIndex(file, digest: image),
      let tables = try? packTables(list, listURL: "", baseURL: "", cache: cache, client: nil)
    else { return nil }
    return (index, tables.packs, tables.locations)
  }

  public func contains(_ d: Digest) -> Bool { locations[d] != nil }

  /// Requests made and bytes fetched for chunks so far, chunks served from blocks in the disk cache, and
  /// chunks served from a block already decompressed in memory.
  public var statistics: (requests: Int, bytes: Int64, cacheHits: Int, blockHits: Int) { counters.withLock { $0 } }
  public var cacheUsedBytes: Int64 { cache?.usedBytes ?? 0 }
  public var cacheCapacityBytes: Int64 { cache?.maxBytes ?? 0 }

  /// A chunk's bytes, checked against its digest: from a recently decompressed block, else from the disk
  /// cache, else fetched. A block holds several chunks, usually read together: without the block cache each
  /// of them read the block from disk and decompressed it again.
  public func chunk(_ d: Digest) throws -> [UInt8] {
    guard let loc = locations[d] else { throw RemoteError(baseURL, "chunk \(d) is in none of the image's packs") }
    let blockKey = BlockCache.Key(pack: loc.pack, offset: loc.blockOffset)
    if let block = blocks.get(blockKey) {
      if let chunk = try? PackFormat.chunk(d, at: loc, block: block) {
        counters.withLock { $0.blockHits += 1 }
        return chunk
      }
      blocks.remove(blockKey)
    }
    // A block's stored bytes decompressed, the chunk cut out and checked; only then is the block kept.
    func serve(_ stored: [UInt8]) throws -> [UInt8] {
      let block = try PackFormat.block(at: loc, stored: stored)
      let chunk = try PackFormat.chunk(d, at: loc, block: block)
      blocks.put(blockKey, block)
      return chunk
    }
    let pack = packIDs[Int(loc.pack)]
    let key = Self.blockKey(pack: pack, offset: loc.blockOffset)
    let url = "\(baseURL)/packs/\(pack.hex).pack"
    if let stored = cache?.get(key) {
      if let chunk = try? serve(stored) {
        counters.withLock { $0.cacheHits += 1 }
        return chunk
      }
      cache?.remove(key)  // corrupt on disk: fetch it again
    }
    let stored = try fetchBlock(key: key, url: url, loc: loc)
    do { return try serve(stored) } catch {
      cache?.remove(key)
      throw RemoteError(url, "block at \(loc.blockOffset) is corrupt (chunk \(d)): \(error)")
    }
  }

  /// Fetches a block once however many threads ask for it at the same time.
  private func fetchBlock(key: String, url: String, loc: ChunkLocation) throws -> [UInt8] {
    let (group, leader) = flights.withLock { f -> (DispatchGroup, Bool) in
      if let g = f[key] { return (g, false) }
      let g = DispatchGroup()
      g.enter()
      f[key] = g
      return (g, true)
    }
    if !leader {
      group.wait()
      if let stored = cache?.get(key) { return stored }
      // The leader failed, or there is no cache to share through: fetch it ourselves.
      return try client.get(url, range: loc.blockOffset..<(loc.blockOffset + UInt64(loc.blockStoredLength)))
    }
    defer {
      flights.withLock { $0[key] = nil }
      group.leave()
    }
    let range = loc.blockOffset..<(loc.blockOffset + UInt64(loc.blockStoredLength))
    let stored = try client.get(url, range: range)
    counters.withLock {
      $0.requests += 1
      $0.bytes += Int64(stored.count)
    }
    cache?.put(key, stored)
    return stored
  }
}
