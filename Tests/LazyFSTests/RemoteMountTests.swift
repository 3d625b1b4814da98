import ChunkStore
import Codecs
import Foundation
import Glibc
import ImageIndex
import LazyFS
import LinuxSystem
import Synchronization
import TestSupport
import Testing

/// `lazyfs mount --remote`: a node with an empty store mounts an image published on a real nginx.
@Suite("Mounting from a remote store", .serialized)
struct RemoteMountTests {
  @Test(
    "python from an empty store and cache: numpy imports, the tree equals the export, a second mount fetches nothing",
    .enabled(if: Fixture.available("python") && Files.exists("/usr/sbin/nginx")))
  func pythonFromRemote() throws {
    let image = try PreparedImage.python.get()
    let dir = try TempDir("lazyfs-remote")
    defer { dir.remove() }
    let server = try publish(image, into: dir)
    defer { server.stop() }
    let cache = dir.sub("cache")
    let remote = ["--remote", server.url, "--cache", cache, "--cache-max", "2G"]

    try withMount(image, store: dir.sub("no-store"), extra: remote) { lower in
      let python = try chrootOnOverlay(lower, scratch: dir, "import numpy; print(numpy.arange(6).sum())")
      #expect(python.status == 0, "\(python.stderr)")
      #expect(python.stdout == "15\n")
      let s = try statistics(lower)
      let r = try #require(s.remote, "a remote mount reports what it fetched")
      #expect(r.url == server.url)
      #expect(r.requests > 0 && r.bytesFetched > 0)
      #expect(s.shareFetched > 0 && s.shareFetched < 0.5, "numpy reads a small part of the image")
      print(
        "numpy import from an empty cache fetched \(r.bytesFetched) bytes in \(r.requests) requests; "
          + "\(String(format: "%.1f", 100 * s.shareFetched)) % of the image's chunk bytes")

      let differences = try TreeSnapshot(lower, inodes: true).differences(
        from: TreeSnapshot(image.export, inodes: true))
      #expect(differences.isEmpty, "\(differences.joined(separator: "\n"))")
    }
    // Everything is in the disk cache now: a second mount reads the whole tree without one request.
    try withMount(image, store: dir.sub("no-store"), extra: remote) { lower in
      for (path, _) in try regularFiles(under: lower).prefix(2000) { _ = try contentHash(lower + "/" + path) }
      let r = try #require(try statistics(lower).remote)
      #expect(r.requests == 0 && r.bytesFetched == 0)
      #expect(r.diskCacheHits > 0)
    }
  }

  @Test(
    "a corrupt block on the server is EIO; a stopped server is EIO and the mount survives; a restart heals",
    .enabled(if: Fixture.available("tiny") && Files.exists("/usr/sbin/nginx")))
  func corruptAndDeadServer() throws {
    let image = try PreparedImage.tiny.get()
    let dir = try TempDir("lazyfs-remote")
    defer { dir.remove() }
    let server = try publish(image, into: dir)
    defer { server.stop() }

    // Damage the published block holding the middle of srv/big-50M.
    let big = try BigFileChunk(image)
    let (store, index, extents, damaged, location) = (big.store, big.index, big.extents, big.damaged, big.location)
    try big.damage(packsDirectory: server.root + "/packs")

    let remote = ["--remote", server.url, "--cache", dir.sub("cache")]
    try withMount(image, store: dir.sub("no-store"), extra: remote) { mountpoint in
      for _ in 0..<2 {
        do {
          _ = try readAt(mountpoint + "/srv/big-50M", damaged.offset, 4096)
          Issue.record("a read of the corrupt block succeeded")
        } catch let e as SystemError {
          #expect(e.errno == .EIO)
        }
      }
      // The first extent is elsewhere and reads fine.
      let first = index.extent(extents.lowerBound)
      if store.location(of: first.chunk)?.blockOffset != location.blockOffset {  // (same pack: one image)
        #expect(try readAt(mountpoint + "/srv/big-50M", 0, 4096) == readAt(image.export + "/srv/big-50M", 0, 4096))
      }

      // Stop the server: what was read still reads (page cache); a part of big-50M in a block not yet
      // fetched fails with EIO, and the mount stays up. Start it again: that part reads.
      let file = mountpoint + "/srv/big-50M"
      let reference = image.export + "/srv/big-50M"
      let fetched: Set<UInt64> = [location.blockOffset, store.location(of: first.chunk)?.blockOffset ?? 0]
      let unread = try #require(
        (extents.lowerBound..<extents.upperBound).map { index.extent($0) }.last {
          store.location(of: $0.chunk).map { !fetched.contains($0.blockOffset) } ?? false
        })
      let before = try readAt(file, 0, 4096)
      server.stop()
      #expect(try readAt(file, 0, 4096) == before)
      do {
        _ = try readAt(file, unread.offset, 4096)
        Issue.record("a read with the server down succeeded")
      } catch let e as SystemError {
        #expect(e.errno == .EIO)
      }
      var st = stat()
      #expect(stat(mountpoint + "/etc", &st) == 0, "the mount is still up")
      #expect(try statistics(mountpoint).loadErrors > 0)

      try server.start()
      #expect(try readAt(file, unread.offset, 4096) == readAt(reference, unread.offset, 4096))
    }
  }
  @Test("a remote that does not answer is a clear error, and nothing is left mounted")
  func deadRemote() throws {
    let dir = try TempDir("lazyfs-remote")
    defer { dir.remove() }
    let mountpoint = try dir.directory("mnt")
    let r = try run(
      lazyfsBinary,
      [
        "mount", "--store", dir.sub("no-store"), "--remote", "http://127.0.0.1:9", "--cache", dir.sub("cache"),
        "some-image", mountpoint,
      ])
    #expect(r.status != 0)
    #expect(r.stderr.contains("http://127.0.0.1:9"), "\(r.stderr)")
    #expect(!isMounted(mountpoint))
  }

  @Test(
    "lazyfs pull --all fills the cache: the image then mounts and reads whole with the server stopped",
    .enabled(if: Fixture.available("tiny") && Files.exists("/usr/sbin/nginx")))
  func pullAheadOfTheMount() throws {
    let image = try PreparedImage.tiny.get()
    let dir = try TempDir("lazyfs-remote")
    defer { dir.remove() }
    let server = try publish(image, into: dir)
    defer { server.stop() }
    let cache = dir.sub("cache")
    let pulled = try lazyfs(["pull", "--remote", server.url, "--cache", cache, "--all", image.digest])
    #expect(pulled.lastLine == image.digest)
    let byName = try run(lazyfsBinary, ["pull", "--remote", server.url, "--cache", cache, "no-such-name"])
    #expect(byName.status == 1 && byName.stderr.hasPrefix("lazyfs pull: "), "\(byName)")

    server.stop()
    try withMount(image, store: dir.sub("no-store"), extra: ["--remote", server.url, "--cache", cache]) { lower in
      let differences = try TreeSnapshot(lower, inodes: true).differences(
        from: TreeSnapshot(image.export, inodes: true))
      #expect(differences.isEmpty, "\(differences.joined(separator: "\n"))")
      for (path, _) in try regularFiles(under: lower) {
        #expect(try contentHash(lower + "/" + path) == contentHash(image.export + "/" + path), "\(path)")
      }
      let r = try #require(try statistics(lower).remote)
      #expect(r.requests == 0 && r.bytesFetched == 0 && r.diskCacheHits > 0)
    }
  }

  @Test(
    "over io_uring, a read waiting for a hung remote does not hold up the other requests made on its CPU",
    .enabled(if: Fixture.available("tiny") && Files.exists("/usr/sbin/nginx") && Files.exists(UringSwitch.path)))
  func ringServesWhileARemoteReadWaits() throws {
    let image = try PreparedImage.tiny.get()
    let dir = try TempDir("lazyfs-remote")
    defer { dir.remove() }
    let server = try publish(image, into: dir)
    defer {
      server.freeze(false)
      server.stop()
    }
    let remote = ["--remote", server.url, "--cache", dir.sub("cache"), "--prefetch", "off"]
    try withMount(image, store: dir.sub("no-store"), extra: remote, transport: .ioUring) { lower in
      let file = lower + "/srv/big-50M"
      #expect(try readAt(file, 0, 4096) == readAt(image.export + "/srv/big-50M", 0, 4096))
      try CPUAffinity.pinCurrentThread(to: 0)
      server.freeze(true)
      final class Outcome: Sendable {
        let done = Atomic<Bool>(false)
        let bytes = Mutex<[UInt8]?>(nil)
      }
      let outcome = Outcome()
      let reader = Thread {
        try? CPUAffinity.pinCurrentThread(to: 0)
        let bytes = try? readAt(file, 30 << 20, 4096)
        outcome.bytes.withLock { $0 = bytes }
        outcome.done.store(true, ordering: .releasing)
      }
      reader.start()
      usleep(300_000)  // the read is waiting on the frozen server by now
      // Lookups and listings never seen before, each a request on this CPU's ring, all answered while
      // the read still waits.
      var answered = 0
      for (path, _) in try regularFiles(under: image.export) where path != "srv/big-50M" {
        var st = stat()
        if stat(lower + "/" + path, &st) == 0 { answered += 1 }
      }
      #expect(answered > 10)
      let finishedEarly = outcome.done.load(ordering: .acquiring)
      #expect(!finishedEarly, "the remote read was still waiting while \(answered) lookups were served")
      server.freeze(false)
      let finished = waitUntil(seconds: 60) { outcome.done.load(ordering: .acquiring) }
      #expect(finished)
      let read = outcome.bytes.withLock { $0 }
      #expect(read == (try readAt(image.export + "/srv/big-50M", 30 << 20, 4096)))
      #expect(try statistics(lower).transport == "io_uring")
    }
  }

  @Test(
    "a server that ignores Range (python's http.server) is refused at mount, naming what it does (issue #14)",
    .enabled(if: Fixture.available("tiny") && Files.exists("/usr/bin/python3")))
  func aServerIgnoringRangeIsRefused() throws {
    let image = try PreparedImage.tiny.get()
    let dir = try TempDir("lazyfs-remote")
    defer { dir.remove() }
    let published = dir.sub("published")
    try lazyfs(["publish", "--store", image.store, image.digest, published])
    let port = Int.random(in: 20000...60000)
    let server = try Spawned(
      "/usr/bin/python3", ["-m", "http.server", String(port), "--bind", "127.0.0.1", "--directory", published])
    defer {
      server.signal(SIGTERM)
      _ = try? server.wait(timeout: 10)
    }
    let url = "http://127.0.0.1:\(port)"
    #expect(waitUntil(seconds: 10) { (try? run("/usr/bin/curl", ["-sf", url + "/layout"]))?.status == 0 })
    let mountpoint = try dir.directory("mnt")
    let r = try run(
      lazyfsBinary,
      ["mount", "--store", dir.sub("no-store"), "--remote", url, "--cache", dir.sub("cache"), image.digest, mountpoint])
    #expect(r.status == 1)
    #expect(r.stderr.contains("does not honour Range requests") && r.stderr.contains(url), "\(r.stderr)")
    #expect(r.stderr.split(separator: "\n").count == 1, "one line: \(r.stderr)")
    #expect(!isMounted(mountpoint))
  }

  @Test(
    "a hung remote: a read fails with EIO at the deadline instead of hanging, stats say why; a thaw heals (#14)",
    .enabled(if: Fixture.available("tiny") && Files.exists("/usr/sbin/nginx")))
  func aHungRemoteMeetsTheDeadline() throws {
    let image = try PreparedImage.tiny.get()
    let dir = try TempDir("lazyfs-remote")
    defer { dir.remove() }
    let server = try publish(image, into: dir)
    defer {
      server.freeze(false)
      server.stop()
    }
    let remote = ["--remote", server.url, "--cache", dir.sub("cache"), "--prefetch", "off", "--remote-timeout", "2"]
    try withMount(image, store: dir.sub("no-store"), extra: remote) { lower in
      let file = lower + "/srv/big-50M"
      let reference = image.export + "/srv/big-50M"
      #expect(try readAt(file, 0, 4096) == readAt(reference, 0, 4096))
      server.freeze(true)
      do {
        _ = try readAt(file, 40 << 20, 4096)
        Issue.record("a read from a frozen server succeeded")
      } catch let e as SystemError {
        #expect(e.errno == .EIO)
      }
      let r = try #require(try statistics(lower).remote)
      #expect(r.failures > 0 && r.deadlineSeconds == 2)
      #expect(r.lastFailure?.contains("deadline") == true, "\(r.lastFailure ?? "no failure recorded")")
      #expect(r.lastSuccessSecondsAgo != nil)
      server.freeze(false)
      #expect(try readAt(file, 40 << 20, 4096) == readAt(reference, 40 << 20, 4096))
    }
  }

  /// Publishes `image` into `dir/published` and serves it with nginx.
  private func publish(_ image: PreparedImage, into dir: TempDir) throws -> Nginx {
    let published = dir.sub("published")
    let r = try lazyfs(["publish", "--store", image.store, image.digest, published])
    try #require(r.status == 0, "\(r.stderr)")
    return try Nginx(serving: published, scratch: try dir.directory("nginx"))
  }

  private func chrootOnOverlay(_ lower: String, scratch dir: TempDir, _ script: String) throws -> RunResult {
    try withOverlay(lower: lower, in: dir) { merged, _ in
      try run("/usr/sbin/chroot", [merged, "/usr/bin/python3", "-c", script])
    }
  }

}
