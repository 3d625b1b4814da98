import ChunkStore
import Codecs
import Foundation
import Glibc
import ImageIndex
import LinuxSystem
import Synchronization
import TestSupport
import Testing

/// The read path: page cache reuse, concurrent random reads, and what a damaged chunk does.
@Suite("Reading through a mount")
struct ReadPathTests {
  @Test("a file read twice is served the second time from the page cache", .enabled(if: Fixture.available("tiny")))
  func secondReadFromPageCache() throws {
    let image = try PreparedImage.tiny.get()
    try withMount(image) { mountpoint in
      let file = mountpoint + "/srv/big-50M"
      let first = try contentHash(file)
      let afterFirst = try statistics(mountpoint)
      #expect(afterFirst.chunkLoads > 0 && afterFirst.bytesRead >= 50 << 20)
      #expect(first == (try contentHash(image.export + "/srv/big-50M")))
      // Closed and opened again: keep_cache keeps the pages across opens, so the kernel asks for nothing.
      // The kernel may still evict a page on its own (memory pressure, someone dropping caches on a shared
      // machine), so a pass that did ask is given one more chance, which must then ask for nothing.
      var before = afterFirst
      for pass in 2...3 {
        #expect(try contentHash(file) == first)
        let after = try statistics(mountpoint)
        if after.readRequests == before.readRequests || pass == 3 {
          #expect(after.readRequests == before.readRequests)
          #expect(after.bytesRead == before.bytesRead)
          #expect(after.chunkLoads == before.chunkLoads)
          break
        }
        before = after
      }
    }
  }

  /// A signal to a task waiting on a request makes the kernel send FUSE_INTERRUPT (over /dev/fuse, even
  /// with io_uring); libfuse answers an interrupt it cannot match with EAGAIN from whichever thread serves
  /// the next request. That answer must not be taken for the reply of the request in hand.
  @Test(
    "reads interrupted by signals still get the exported bytes, and the mount keeps serving",
    .enabled(if: Fixture.available("tiny") && Files.exists("/usr/bin/python3")), arguments: Transport.available)
  func interruptedReads(transport: Transport) throws {
    let image = try PreparedImage.tiny.get()
    // A SIGALRM every 50 µs while the file is read (its pages dropped first, so the reads reach the
    // daemon) and ioctls are made (each a request; the kernel turns ENOSYS into ENOTTY).
    let script = """
      import errno, fcntl, hashlib, os, signal, sys, termios, time
      signal.signal(signal.SIGALRM, lambda *a: None)
      signal.setitimer(signal.ITIMER_REAL, 0.00005, 0.00005)
      path, want, reads, odd, end = sys.argv[1], sys.argv[2], 0, set(), time.monotonic() + 2
      while time.monotonic() < end:
          fd = os.open(path, os.O_RDONLY)
          for _ in range(200):
              try:
                  fcntl.ioctl(fd, termios.TCGETS, bytes(64))
              except OSError as e:
                  if e.errno != errno.ENOTTY:
                      odd.add(e.errno)
          os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
          h = hashlib.sha256()
          while b := os.read(fd, 1 << 20):
              h.update(b)
          os.close(fd)
          if h.hexdigest() != want:
              sys.exit("wrong bytes")
          reads += 1
      signal.setitimer(signal.ITIMER_REAL, 0)
      if odd:
          sys.exit("ioctl failed with " + ", ".join(errno.errorcode.get(e, str(e)) for e in sorted(odd)))
      print(reads)
      """
    try withMount(image, transport: transport) { mountpoint in
      let want = try contentHash(image.export + "/srv/big-50M")
      let r = try run("/usr/bin/python3", ["-c", script, mountpoint + "/srv/big-50M", want])
      #expect(r.status == 0, "\(r.stderr)")
      #expect((Int(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) > 0, "\(r.stdout)")
      #expect(try contentHash(mountpoint + "/bin/busybox") == (try contentHash(image.export + "/bin/busybox")))
      #expect(try statistics(mountpoint).loadErrors == 0)
    }
  }

  @Test(
    "16 threads reading at random offsets get the exported bytes", .enabled(if: Fixture.available("python")),
    arguments: Transport.available)
  func concurrentRandomReads(transport: Transport) throws {
    let image = try PreparedImage.python.get()
    let files = try regularFiles(under: image.export).filter { $0.size > 0 }
    try withMount(image, transport: transport) { mountpoint in
      let failures = Mutex<[String]>([])
      let reads = Atomic<Int>(0)
      onThreads(16) { thread in
        var random = SplitMix64(seed: UInt64(thread) &* 7919)
        for _ in 0..<300 {
          let file = files.randomElement(using: &random)!
          let offset = Int64.random(in: 0..<file.size, using: &random)
          let count = Int.random(in: 1...(256 << 10), using: &random)
          let got = Result { try readAt(mountpoint + "/" + file.path, offset, count) }
          let want = Result { try readAt(image.export + "/" + file.path, offset, count) }
          reads.add(1, ordering: .relaxed)
          if (try? got.get()) == nil || (try? got.get()) != (try? want.get()) {
            failures.withLock { $0.append("\(file.path) @\(offset)+\(count): \(got.map(\.count))") }
          }
        }
      }
      let failed = failures.withLock { $0 }
      #expect(failed.isEmpty, "\(failed.prefix(10).joined(separator: "\n"))")
      #expect(reads.load(ordering: .relaxed) == 16 * 300)
      let s = try statistics(mountpoint)
      #expect(s.loadErrors == 0)
      #expect(s.chunkLoads > 0 && s.chunksLoaded <= s.chunksTotal && s.shareFetched <= 1)
      #expect(s.cacheBytes <= s.cacheCapacityBytes)
    }
  }

  @Test(
    "a corrupt chunk gives EIO for its file, never wrong bytes; other files read fine",
    .enabled(if: Fixture.available("tiny")))
  func corruptChunk() throws {
    let dir = try TempDir()
    defer { dir.remove() }
    let shared = try PreparedImage.tiny.get()
    let storePath = dir.sub("store")
    let r = try lazyfs(["import", "--store", storePath, Fixture.path("tiny/rootfs.tar")])
    let image = PreparedImage(store: storePath, digest: r.lastLine, export: shared.export)

    // Damage one block in the middle of srv/big-50M, in the pack file itself.
    let big = try BigFileChunk(image)
    let (store, index, extents, damaged, location) = (big.store, big.index, big.extents, big.damaged, big.location)
    try big.damage(packsDirectory: store.packsDirectory)
    /// Whether any of a file's chunks lives in the damaged block.
    func touchesDamage(_ entry: Int) -> Bool {
      index.extents(entry).contains { k in
        let l = store.location(of: index.extent(k).chunk)
        return l?.pack == location.pack && l?.blockOffset == location.blockOffset
      }
    }

    try withMount(image) { mountpoint in
      let file = mountpoint + "/srv/big-50M"
      #expect(throws: SystemError.self) { try contentHash(file) }
      // Exactly EIO, at the damaged extent, every time (a failed load is not cached).
      for _ in 0..<2 {
        do {
          _ = try readAt(file, damaged.offset, 4096)
          Issue.record("a read of the damaged extent succeeded")
        } catch let e as SystemError {
          #expect(e.errno == .EIO)
        }
      }
      // The start of the same file, in another block, still reads right.
      let head = store.location(of: index.extent(extents.lowerBound).chunk)
      if head?.pack != location.pack || head?.blockOffset != location.blockOffset {
        #expect(try readAt(file, 0, 4096) == (try readAt(image.export + "/srv/big-50M", 0, 4096)))
      }
      // Every file without a chunk in the damaged block reads exactly as exported.
      var checked = 0
      for (path, _) in try regularFiles(under: image.export) {
        guard let entry = index.lookup(path: path), !touchesDamage(entry) else { continue }
        #expect(try contentHash(mountpoint + "/" + path) == (try contentHash(image.export + "/" + path)), "\(path)")
        checked += 1
      }
      #expect(checked > 10)
      let s = try statistics(mountpoint)
      #expect(s.loadErrors >= 3)
    }
  }
}

/// Reads up to `count` bytes of `path` at `offset`.
func readAt(_ path: String, _ offset: Int64, _ count: Int) throws -> [UInt8] {
  let fd = try FileDescriptor.open(path, O_RDONLY)
  return try pread(fd.raw, offset, count)
}

func flipByte(_ path: String, at offset: Int64) throws {
  let fd = try FileDescriptor.open(path, O_RDWR)
  var byte = try pread(fd.raw, offset, 1)
  byte[0] ^= 0xff
  try byte.withUnsafeBytes { try fd.pwrite($0, at: offset) }
}
