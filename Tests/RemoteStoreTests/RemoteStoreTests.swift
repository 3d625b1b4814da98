import ChunkStore
import Codecs
import Foundation
import ImageImport
import ImageIndex
import LinuxSystem
import RemoteStore
import TestSupport
import Testing

let fixtures = ProcessInfo.processInfo.environment["LAZYFS_FIXTURES"] ?? "/var/cache/lazyfs-fixtures"
func fixtureAvailable(_ name: String) -> Bool { Files.exists("\(fixtures)/\(name)/.done") }

/// Imports `source` into `store` and returns the image and its chunk list.
func importImage(_ source: String, into store: ChunkStore, name: String? = nil) throws -> (Digest, [Digest]) {
  let result = try Importer(store: store).run(source: source, name: name)
  let index = try ImageIndex(bytes: store.indexBytes(result.digest))
  return (result.digest, index.chunks)
}

/// Publish, then read every chunk back over HTTP from a real nginx, through the disk cache.
@Suite(.serialized) struct RemoteStoreTests {
  @Test(.enabled(if: fixtureAvailable("tiny")))
  func publishedImageReadsBackOverHTTP() throws {
    let tmp = try TempDir()
    defer { tmp.remove() }
    let store = try ChunkStore(root: tmp.sub("store"), create: true)
    let (digest, chunks) = try importImage("\(fixtures)/tiny/oci", into: store, name: "tiny:1")
    let dest = tmp.sub("published")
    let report = try Publisher.publish(store: store, image: digest, names: ["tiny:1"], chunks: chunks, to: dest)
    #expect(report.packsWritten >= 1 && report.packsPresent == 0)

    try FileManager.default.createDirectory(atPath: tmp.sub("nginx"), withIntermediateDirectories: false)
    let nginx = try Nginx(serving: dest, scratch: tmp.sub("nginx"))
    defer { nginx.stop() }
    let cache = try DiskCache(directory: tmp.sub("cache"), maxBytes: 1 << 30)
    // By name and by digest.
    let byName = try RemoteImage(url: nginx.url, reference: "tiny:1", cache: cache)
    #expect(byName.digest == digest)
    let remote = try RemoteImage(url: nginx.url + "/", reference: digest.description, cache: cache)
    #expect(remote.indexBytes == (try store.indexBytes(digest)))
    // The published index is the store's file, a zstd frame, smaller than the index it holds.
    let published = try Files.read("\(dest)/indexes/\(digest.hex)")
    #expect(published.withUnsafeBytes { Zstd.isFrame($0) } && published.count < remote.indexBytes.count)
    for c in chunks { #expect(try remote.chunk(c) == (try store.read(c)), "chunk \(c)") }
    let fetched = remote.statistics
    #expect(fetched.requests > 0 && fetched.bytes > 0)
    // A second pass is served by the caches: no more requests. Blocks decompressed once serve their other
    // chunks from memory, so there were fewer decompressions than chunks.
    #expect(fetched.blockHits > 0 && fetched.requests < chunks.count)
    for c in chunks { _ = try remote.chunk(c) }
    #expect(remote.statistics.requests == fetched.requests)
    let again = remote.statistics
    #expect(again.cacheHits + again.blockHits - fetched.cacheHits - fetched.blockHits == chunks.count)
    // A new reader of the same remote starts with no blocks in memory: the disk cache serves it.
    let second = try RemoteImage(url: nginx.url, reference: "tiny:1", cache: cache)
    for c in chunks { #expect(try second.chunk(c) == (try store.read(c))) }
    #expect(second.statistics.requests == 0 && second.statistics.cacheHits > 0)
  }

  /// What an image's digest names is immutable and cached: opening it again by digest makes no request,
  /// so it works with the remote stopped; by name it asks the remote (a name may move); a damaged cached
  /// pack index is fetched again, never used.
  @Test(.enabled(if: fixtureAvailable("tiny")))
  func aWarmOpenByDigestMakesNoRequest() throws {
    let tmp = try TempDir()
    defer { tmp.remove() }
    let store = try ChunkStore(root: tmp.sub("store"), create: true)
    let (digest, chunks) = try importImage("\(fixtures)/tiny/oci", into: store, name: "tiny:1")
    let dest = tmp.sub("published")
    _ = try Publisher.publish(store: store, image: digest, names: ["tiny:1"], chunks: chunks, to: dest)
    try FileManager.default.createDirectory(atPath: tmp.sub("nginx"), withIntermediateDirectories: false)
    let nginx = try Nginx(serving: dest, scratch: tmp.sub("nginx"))
    defer { nginx.stop() }
    let cache = try DiskCache(directory: tmp.sub("cache"), maxBytes: 1 << 30)
    let cold = try RemoteImage(url: nginx.url, reference: digest.description, cache: cache)
    for c in chunks { _ = try cold.chunk(c) }

    nginx.stop()
    let client = HTTPClient()
    client.attempts = 1  // a stopped server is refused at once; no retries to wait for
    let warm = try RemoteImage(url: nginx.url, reference: digest.hex, client: client, cache: cache)
    #expect(warm.indexBytes == (try store.indexBytes(digest)))
    for c in chunks { #expect(try warm.chunk(c) == (try store.read(c))) }
    #expect(warm.statistics.requests == 0)
    #expect(throws: (any Error).self, "a name is asked of the remote, which is away") {
      try RemoteImage(url: nginx.url, reference: "tiny:1", client: client, cache: cache)
    }

    // A cached pack index that no longer matches its digest is not used: the remote is asked again.
    let damaged = try #require(try Files.list(tmp.sub("cache")).first { $0.hasPrefix("idx-") })
    var bytes = try Files.read(tmp.sub("cache") + "/" + damaged)
    bytes[bytes.count / 2] ^= 0xff
    try Files.writeAtomically(tmp.sub("cache") + "/" + damaged, bytes)
    #expect(throws: (any Error).self, "with the remote away, nothing verifiable is left to open from") {
      try RemoteImage(url: nginx.url, reference: digest.hex, client: client, cache: cache)
    }
    try nginx.start()
    let mended = try RemoteImage(url: nginx.url, reference: digest.hex, client: client, cache: cache)
    #expect(mended.indexBytes == (try store.indexBytes(digest)))
    nginx.stop()
    #expect(try RemoteImage(url: nginx.url, reference: digest.hex, client: client, cache: cache).digest == digest)
  }

  @Test(.enabled(if: fixtureAvailable("debian") && fixtureAvailable("python")))
  func publishingASecondImageAddsOnlyWhatIsNew() throws {
    let tmp = try TempDir()
    defer { tmp.remove() }
    let store = try ChunkStore(root: tmp.sub("store"), create: true)
    let (debian, debianChunks) = try importImage("\(fixtures)/debian/rootfs.tar", into: store)
    let (python, pythonChunks) = try importImage("\(fixtures)/python/rootfs.tar", into: store)
    let dest = tmp.sub("published")
    let first = try Publisher.publish(store: store, image: debian, names: [], chunks: debianChunks, to: dest)
    let size1 = try duBytes(dest)
    let second = try Publisher.publish(store: store, image: python, names: [], chunks: pythonChunks, to: dest)
    let size2 = try duBytes(dest)
    #expect(second.packsPresent == first.packsWritten, "python's shared chunks live in debian's packs")
    #expect(second.packsWritten >= 1)
    // What the second publish wrote is about what the python import added to the store, not python's size.
    #expect(Double(size2 - size1) < 0.6 * Double(size2), "second publish wrote \(size2 - size1) of \(size2)")
    let again = try Publisher.publish(store: store, image: python, names: [], chunks: pythonChunks, to: dest)
    #expect(again.packsWritten == 0)
    #expect(try duBytes(dest) == size2 + 0)
  }

  @Test(.enabled(if: fixtureAvailable("tiny")))
  func corruptBlocksDeadAndRestartedServers() throws {
    let tmp = try TempDir()
    defer { tmp.remove() }
    let store = try ChunkStore(root: tmp.sub("store"), create: true)
    let (digest, chunks) = try importImage("\(fixtures)/tiny/rootfs.tar", into: store)
    let dest = tmp.sub("published")
    _ = try Publisher.publish(store: store, image: digest, names: [], chunks: chunks, to: dest)
    try FileManager.default.createDirectory(atPath: tmp.sub("nginx"), withIntermediateDirectories: false)
    let nginx = try Nginx(serving: dest, scratch: tmp.sub("nginx"))
    defer { nginx.stop() }
    let client = HTTPClient()
    client.backoffMilliseconds = 10
    let remote = try RemoteImage(url: nginx.url, reference: digest.description, client: client, cache: nil)

    // Corrupt one byte of the served pack at the first chunk's block: that chunk fails, never wrong bytes.
    let victim = chunks.max { (store.location(of: $0)!.length) < (store.location(of: $1)!.length) }!
    let loc = store.location(of: victim)!
    let pack = try Files.list(dest + "/packs").first { $0.hasSuffix(".pack") }!
    let fd = try FileDescriptor.open("\(dest)/packs/\(pack)", O_RDWR)
    var byte: [UInt8] = [0]
    let at = Int64(loc.blockOffset) + Int64(loc.blockStoredLength / 2)
    _ = try byte.withUnsafeMutableBytes { try fd.pread(into: $0, at: at) }
    byte[0] ^= 0x55
    try byte.withUnsafeBytes { try fd.pwrite($0, at: at) }
    fd.close()
    #expect(throws: RemoteError.self) { try remote.chunk(victim) }
    let other = chunks.first { store.location(of: $0)!.blockOffset != loc.blockOffset }!
    #expect(try remote.chunk(other) == (try store.read(other)))

    // The server goes away: a clear error; it comes back: reads work again.
    nginx.stop()
    let fresh = chunks.last { store.location(of: $0)!.blockOffset != loc.blockOffset && $0 != other }!
    do {
      _ = try remote.chunk(fresh)
      Issue.record("a read succeeded with the server stopped")
    } catch let e as RemoteError {
      #expect(e.description.contains("127.0.0.1"), "\(e)")
    }
    try nginx.start()
    #expect(try remote.chunk(fresh) == (try store.read(fresh)))
  }

  /// Publishing into a version 1 directory marks it version 2 before a zstd-framed index goes in; a
  /// directory of an unknown layout is refused and left as it was.
  @Test(.enabled(if: fixtureAvailable("tiny")))
  func publishMovesAnOlderLayoutForwardAndRefusesAnUnknownOne() throws {
    let tmp = try TempDir()
    defer { tmp.remove() }
    let store = try ChunkStore(root: tmp.sub("store"), create: true)
    let (digest, chunks) = try importImage("\(fixtures)/tiny/oci", into: store)
    let old = tmp.sub("old")
    try Files.makeDirectories(old)
    try Files.writeAtomically(old + "/layout", Array("lazyfs-remote 1\n".utf8))
    _ = try Publisher.publish(store: store, image: digest, names: [], chunks: chunks, to: old)
    #expect(String(decoding: try Files.read(old + "/layout"), as: UTF8.self) == RemoteLayout.version)
    #expect(RemoteLayout.version == "lazyfs-remote 2\n")

    let unknown = tmp.sub("unknown")
    try Files.makeDirectories(unknown)
    try Files.writeAtomically(unknown + "/layout", Array("lazyfs-remote 9\n".utf8))
    let error = #expect(throws: RemoteError.self) {
      try Publisher.publish(store: store, image: digest, names: [], chunks: chunks, to: unknown)
    }
    #expect(error?.description.contains("lazyfs-remote 9") == true, "\(String(describing: error))")
    #expect(String(decoding: try Files.read(unknown + "/layout"), as: UTF8.self) == "lazyfs-remote 9\n")
    #expect(try Files.list(unknown) == ["layout"])
  }

  @Test func deadOrWrongRemotesAreClearErrors() throws {
    let client = HTTPClient()
    client.attempts = 1
    // Nothing listens on port 1.
    #expect(throws: RemoteError.self) {
      try RemoteImage(url: "http://127.0.0.1:1", reference: "x", client: client, cache: nil)
    }
    let tmp = try TempDir()
    defer { tmp.remove() }
    try FileManager.default.createDirectory(atPath: tmp.sub("nginx"), withIntermediateDirectories: false)
    try FileManager.default.createDirectory(atPath: tmp.sub("empty"), withIntermediateDirectories: false)
    let nginx = try Nginx(serving: tmp.sub("empty"), scratch: tmp.sub("nginx"))
    defer { nginx.stop() }
    do {
      _ = try RemoteImage(url: nginx.url, reference: "x", client: client, cache: nil)
      Issue.record("an empty directory opened as a remote store")
    } catch let e as RemoteError {
      #expect(e.description.contains("/layout") && e.description.contains("404"), "\(e)")
    }
  }

  @Test func diskCacheStaysWithinItsBound() throws {
    let tmp = try TempDir()
    defer { tmp.remove() }
    let cache = try DiskCache(directory: tmp.sub("cache"), maxBytes: 10_000)
    for k in 0..<10 { cache.put("k\(k)", [UInt8](repeating: UInt8(k), count: 3000)) }
    #expect(cache.usedBytes <= 10_000)
    #expect(cache.get("k9") == [UInt8](repeating: 9, count: 3000))
    #expect(cache.get("k0") == nil, "the least recently used block should have gone")
    #expect(try duBytes(tmp.sub("cache")) <= 10_000)
    // Reopened, it finds what is there and keeps the bound.
    let again = try DiskCache(directory: tmp.sub("cache"), maxBytes: 5000)
    #expect(again.usedBytes <= 5000)
  }
}

func duBytes(_ path: String) throws -> Int64 {
  var total: Int64 = 0
  var st = stat()
  guard lstat(path, &st) == 0 else { throw SystemError("lstat", path: path) }
  if st.st_mode & S_IFMT == S_IFDIR {
    for name in try Files.list(path) { total += try duBytes("\(path)/\(name)") }
  } else {
    total += Int64(st.st_size)
  }
  return total
}
