import ChunkStore
import Codecs
import Foundation
import Glibc
import ImageIndex
import LazyFS
import LinuxSystem
import Profiles
import TestSupport
import Testing

/// `--record` and `--prefetch`: a working set recorded on one node and replayed on another.
///
/// Each test imports its image into a store of its own: a recorded profile lands in the store, and the
/// shared stores of the other tests must not start prefetching.
@Suite("Recording and replaying a working set", .serialized)
struct PrefetchTests {
  @Test(
    "recorded on one node and replayed on an empty one, numpy imports with no request outside the prefetch",
    .enabled(if: Fixture.available("python") && Files.exists("/usr/sbin/nginx")))
  func recordThenReplayOnAFreshNode() throws {
    let dir = try TempDir("lazyfs-prefetch")
    defer { dir.remove() }
    let image = try importFixture("python", into: dir)
    let script = "import numpy; print(numpy.arange(6).sum())"

    // Node A: record the workload, and save the window by asking the mount.
    try withMount(image, extra: ["--record", "--record-idle", "600"]) { lower in
      let python = try chroot(lower, scratch: dir, script)
      #expect(python.stdout == "15\n", "\(python.stderr)")
      #expect(try statistics(lower).recording == true)
      let saved = try lazyfs(["profile", "save", lower])
      #expect(saved.stdout.hasPrefix("saved "), "\(saved.stdout)")
      #expect(try statistics(lower).recording == false)
      let again = try run(lazyfsBinary, ["profile", "save", lower])
      #expect(again.status == 1 && again.stderr.contains("nothing to save"), "\(again.stderr)")
    }
    let profilePath = "\(image.store)/profiles/\(image.hex)"
    let profile = try Profile(decoding: Files.read(profilePath), for: image.imageDigest)
    #expect(profile.runs == 1 && profile.records.count > 100)
    #expect(try lazyfs(["profile", "list", "--store", image.store]).stdout.contains("1 runs"))

    // Published with the image; node B has no store and an empty cache.
    let published = dir.sub("published")
    #expect(
      try lazyfs(["publish", "--store", image.store, image.digest, published]).stdout.contains("with its profile"))
    #expect(Files.exists("\(published)/profiles/\(image.hex)"))
    // The working set's own pack, listed first: the prefetch fetches it and nothing else.
    let list = String(decoding: try Files.read("\(published)/images/\(image.hex)"), as: UTF8.self)
    let workingSet = try #require(list.split(separator: "\n").first.map(String.init))
    let workingSetBytes = try FileDescriptor.open("\(published)/packs/\(workingSet).pack", O_RDONLY).size()
    let server = try Nginx(serving: published, scratch: try dir.directory("nginx"))
    defer { server.stop() }
    let remote = ["--remote", server.url, "--cache", dir.sub("cache-b")]
    try withMount(image, store: dir.sub("no-store"), extra: remote) { lower in
      let done = waitUntil(seconds: 60) { (try? statistics(lower).prefetch?.pages) != nil }
      #expect(done, "the prefetch finishes")
      let python = try chroot(lower, scratch: dir, script)
      #expect(python.stdout == "15\n", "\(python.stderr)")
      let s = try statistics(lower)
      let p = try #require(s.prefetch)
      let r = try #require(s.remote)
      #expect(p.profile == profile.digest.description)
      #expect(p.error == nil && p.pages == "done")
      #expect(p.fetchRequests > 0 && p.fetchRequests == p.fetchRanges && p.bytesPrefetched > 0)
      #expect(p.fetchRequests < Int64(profile.records.count) / 2, "neighbouring blocks go in one request")
      #expect(p.pageCacheBytes >= p.profileBytes * 9 / 10, "the profile's pages went into the page cache")
      #expect(p.readBytesOutsideProfile == 0, "the same workload reads nothing the profile lacks")
      #expect(r.requests == p.fetchRequests, "every request was the prefetch's: none on demand")
      #expect(p.bytesPrefetched < workingSetBytes, "the working-set pack, less its header")
      print(
        "replay: \(p.fetchRequests) range requests, \(p.bytesPrefetched) bytes; "
          + "\(p.pageCacheBytes) bytes into the page cache; \(s.readRequests) reads reached the mount")
    }
  }

  @Test(
    "a corrupt, truncated or foreign profile is refused with its reason, and the mount serves without prefetch",
    .enabled(if: Fixture.available("tiny")))
  func badProfiles() throws {
    let dir = try TempDir("lazyfs-prefetch")
    defer { dir.remove() }
    let image = try importFixture("tiny", into: dir)
    try record(image, reading: ["srv/big-50M"])
    let good = try Files.read("\(image.store)/profiles/\(image.hex)")
    let other = Profile(image: Digest.of(Array("another image".utf8)), firstReads: [(1, 0)]).encoded
    var flipped = good
    flipped[good.count / 2] ^= 1
    let cases: [(String, [UInt8], String)] = [
      ("corrupt", flipped, "corrupt"), ("truncated", Array(good.dropLast(40)), "truncated"),
      ("foreign", other, "not of"), ("garbage", Array("{}".utf8), "not a lazyfs profile"),
    ]
    for (name, bytes, reason) in cases {
      let file = dir.sub("\(name).profile")
      try Files.writeAtomically(file, bytes)
      try withMount(image, extra: ["--prefetch", file]) { lower in
        let p = try #require(try statistics(lower).prefetch)
        #expect(p.profile == nil, "\(name)")
        #expect(p.error?.contains(reason) == true, "\(name): \(p.error ?? "no error")")
        #expect(try contentHash(lower + "/srv/big-50M") == contentHash(image.export + "/srv/big-50M"))
      }
      let merge = try run(lazyfsBinary, ["profile", "merge", "--store", image.store, image.digest, file])
      #expect(merge.status == 1 && merge.stderr.hasPrefix("lazyfs profile merge: profile \(file): "), "\(merge)")
      #expect(merge.stderr.contains(reason), "\(merge.stderr)")
      #expect(try Files.read("\(image.store)/profiles/\(image.hex)") == good, "nothing written")
    }
    // The store's own profile damaged: refused too (auto).
    try Files.writeAtomically("\(image.store)/profiles/\(image.hex)", flipped)
    try withMount(image) { lower in
      let p = try #require(try statistics(lower).prefetch)
      #expect(p.profile == nil && p.error?.contains("corrupt") == true, "\(p.error ?? "no error")")
    }
    let show = try run(lazyfsBinary, ["profile", "show", "--store", image.store, image.digest])
    #expect(show.status == 1 && show.stderr.contains("corrupt"), "\(show.stderr)")
  }

  @Test(
    "runs merge: a second recording adds to the profile; merge takes another node's profile; rm removes it",
    .enabled(if: Fixture.available("tiny")))
  func mergingRuns() throws {
    let dir = try TempDir("lazyfs-prefetch")
    defer { dir.remove() }
    let image = try importFixture("tiny", into: dir)
    let path = "\(image.store)/profiles/\(image.hex)"
    let digest = try image.imageDigest
    try record(image, reading: ["srv/big-50M"])
    let first = try #require(try ProfileStore.load(path, image: digest))
    let small = try #require(
      try regularFiles(under: image.export).first { $0.size > 0 && $0.size < 100_000 && $0.path != "srv/big-50M" })
    try record(image, reading: [small.path])
    let both = try #require(try ProfileStore.load(path, image: digest))
    #expect(both.runs == 2)
    #expect(Set(both.records.map(\.extent)).isSuperset(of: first.records.map(\.extent)), "nothing lost")
    #expect(both.records.count > first.records.count)
    let copy = dir.sub("other-node.profile")
    try Files.writeAtomically(copy, both.encoded)
    #expect(
      try lazyfs(["profile", "merge", "--store", image.store, image.digest, copy]).stdout.contains("from 4 runs"))
    let shown = try lazyfs(["profile", "show", "--store", image.store, image.digest])
    #expect(shown.stdout.contains("/srv/big-50M @0+"))
    #expect(try lazyfs(["profile", "rm", "--store", image.store, image.digest]).status == 0)
    #expect(!Files.exists(path))
  }

  @Test(
    "the page cache the prefetch fills stays within its budget, measured with cachestat; bytes are right",
    .enabled(if: Fixture.available("tiny")))
  func budget() throws {
    let dir = try TempDir("lazyfs-prefetch")
    defer { dir.remove() }
    let image = try importFixture("tiny", into: dir)
    try record(image, reading: ["srv/big-50M"])
    let budget: Int64 = 4 << 20
    try withMount(image, extra: ["--prefetch-budget", "4M"]) { lower in
      #expect(waitUntil(seconds: 30) { (try? statistics(lower).prefetch?.pages) != nil })
      let p = try #require(try statistics(lower).prefetch)
      #expect(p.pages == "budget of \(budget) bytes spent", "\(p.pages ?? "")")
      #expect(p.pageCacheBytes <= budget && p.pageCacheBytes > budget / 2)
      let fd = try FileDescriptor.open(lower + "/srv/big-50M", O_RDONLY)
      let size = try fd.size()
      let resident = try PageCache.residentBytes(fd, offset: 0, length: size)
      #expect(resident <= budget, "cachestat: \(resident) bytes resident")
      // What was counted is there (each push is measured with cachestat before and after; a page that two
      // segments share, pushed by two workers at once, can still count twice).
      #expect(resident >= p.pageCacheBytes - 4 * 4096, "cachestat \(resident), counted \(p.pageCacheBytes)")
      #expect(try contentHash(lower + "/srv/big-50M") == contentHash(image.export + "/srv/big-50M"))
    }
  }

  @Test(
    "a dead remote during prefetch: the mount serves, reads fail with EIO, never hang; a restart heals",
    .enabled(if: Fixture.available("tiny") && Files.exists("/usr/sbin/nginx")))
  func deadRemoteDuringPrefetch() throws {
    let dir = try TempDir("lazyfs-prefetch")
    defer { dir.remove() }
    let image = try importFixture("tiny", into: dir)
    try record(image, reading: ["srv/big-50M"])
    let published = dir.sub("published")
    try lazyfs(["publish", "--store", image.store, image.digest, published])
    let server = try Nginx(serving: published, scratch: try dir.directory("nginx"))
    defer { server.stop() }
    let cache = dir.sub("cache")
    try lazyfs(["pull", "--remote", server.url, "--cache", cache, image.digest])
    server.stop()
    // Metadata and profile come from the cache; every block must come from the dead server.
    try withMount(image, store: dir.sub("no-store"), extra: ["--remote", server.url, "--cache", cache]) { lower in
      #expect(waitUntil(seconds: 30) { (try? statistics(lower).prefetch?.pages) != nil }, "the prefetch gives up")
      let p = try #require(try statistics(lower).prefetch)
      #expect(p.profile != nil && p.error != nil, "\(p)")
      do {
        _ = try readAt(lower + "/srv/big-50M", 0, 4096)
        Issue.record("a read with the server down succeeded")
      } catch let e as SystemError {
        #expect(e.errno == .EIO)
      }
      var st = stat()
      #expect(stat(lower + "/etc", &st) == 0, "the mount is up")
      try server.start()
      #expect(try contentHash(lower + "/srv/big-50M") == contentHash(image.export + "/srv/big-50M"))
    }
  }

  @Test(
    "a corrupt block on the server during prefetch: EIO for that part, right bytes elsewhere, never wrong ones",
    .enabled(if: Fixture.available("tiny") && Files.exists("/usr/sbin/nginx")))
  func corruptRemoteDuringPrefetch() throws {
    let dir = try TempDir("lazyfs-prefetch")
    defer { dir.remove() }
    let image = try importFixture("tiny", into: dir)
    try record(image, reading: ["srv/big-50M"])
    let published = dir.sub("published")
    try lazyfs(["publish", "--store", image.store, image.digest, published])
    // The profile's chunks are read from the working-set pack publish wrote (listed first): damage the
    // middle chunk of big-50M there.
    let big = try BigFileChunk(image.prepared)
    let list = String(decoding: try Files.read("\(published)/images/\(image.hex)"), as: UTF8.self)
    let workingSet = try #require(list.split(separator: "\n").first.map(String.init))
    let entries = try #require(
      PackFormat.parseIndex(try Files.read("\(published)/packs/\(workingSet).idx"), pack: 0))
    let location = try #require(entries.first { $0.0 == big.damaged.chunk }?.1, "the chunk is in the working set")
    try flipByte(
      "\(published)/packs/\(workingSet).pack",
      at: Int64(location.blockOffset) + Int64(location.blockStoredLength / 2))
    let server = try Nginx(serving: published, scratch: try dir.directory("nginx"))
    defer { server.stop() }
    let remote = ["--remote", server.url, "--cache", dir.sub("cache")]
    try withMount(image, store: dir.sub("no-store"), extra: remote) { lower in
      #expect(waitUntil(seconds: 60) { (try? statistics(lower).prefetch?.pages) != nil })
      let file = lower + "/srv/big-50M"
      let reference = image.export + "/srv/big-50M"
      var failed = 0
      var offset: Int64 = 0
      while offset < 50 << 20 {
        do {
          #expect(try readAt(file, offset, 1 << 20) == readAt(reference, offset, 1 << 20), "at \(offset)")
        } catch let e as SystemError {
          #expect(e.errno == .EIO)
          failed += 1
        } catch {
          Issue.record("\(error)")
        }
        offset += 1 << 20
      }
      #expect(failed >= 1 && failed <= 3, "only the damaged block's part fails (\(failed) MiB did)")
    }
  }

  // MARK: helpers

  struct Image {
    let store: String
    let digest: String
    let export: String
    var hex: String { String(digest.dropFirst(7)) }
    var imageDigest: Digest {
      get throws {
        guard let d = Digest(hex: hex) else { throw TestFailure("bad digest \(digest)") }
        return d
      }
    }
    var prepared: PreparedImage { PreparedImage(store: store, digest: digest, export: export) }
  }

  /// The fixture imported into a store of this test's own (the export is the shared one's).
  func importFixture(_ fixture: String, into dir: TempDir) throws -> Image {
    let shared = try (fixture == "python" ? PreparedImage.python : PreparedImage.tiny).get()
    let store = dir.sub("store")
    let r = try lazyfs(["import", "--store", store, Fixture.path("\(fixture)/rootfs.tar")])
    try #require(r.lastLine == shared.digest)
    return Image(store: store, digest: shared.digest, export: shared.export)
  }

  /// Mounts with `--record`, reads `paths` whole, unmounts: one run saved at unmount.
  func record(_ image: Image, reading paths: [String]) throws {
    try withMount(image, extra: ["--record", "--record-idle", "600"]) { lower in
      for path in paths { _ = try contentHash(lower + "/" + path) }
    }
    #expect(Files.exists("\(image.store)/profiles/\(image.hex)"), "saved at unmount")
  }

  func withMount(_ image: Image, store: String? = nil, extra: [String] = [], _ body: (String) throws -> Void) throws {
    try LazyFSTests.withMount(image.prepared, store: store ?? image.store, extra: extra, body)
  }

  func chroot(_ lower: String, scratch dir: TempDir, _ script: String) throws -> RunResult {
    let sub = try TempDir("lazyfs-overlay")
    defer { sub.remove() }
    return try withOverlay(lower: lower, in: sub) { merged, _ in
      try run("/usr/sbin/chroot", [merged, "/usr/bin/python3", "-c", script])
    }
  }
}
