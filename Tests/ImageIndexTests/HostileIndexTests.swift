import Codecs
import Glibc
import ImageIndex
import LinuxSystem
import TestSupport
import Testing

/// Opening an index from a file, and refusing damaged or foreign bytes with an error rather than a crash.
@Suite struct HostileIndexTests {
  let bytes = SampleTree().build()

  @Test func aMappedFileReadsLikeTheBytes() throws {
    let dir = try TempDir()
    defer { dir.remove() }
    let path = dir.path + "/index"
    try Files.writeAtomically(path, bytes)
    let mapped = try ImageIndex(path: path, expect: Digest.of(bytes))
    let inMemory = try ImageIndex(bytes: bytes)
    #expect(mapped.count == inMemory.count && mapped.chunks == inMemory.chunks)
    for i in 0..<mapped.count {
      #expect(mapped.path(of: i) == inMemory.path(of: i))
      #expect(mapped.attributes(i) == inMemory.attributes(i))
    }
    #expect(mapped.config == inMemory.config)
    #expect(try ImageIndex(path: path).count == mapped.count, "without a digest to check")
  }

  @Test func aCompressedFileReadsLikeTheBytes() throws {
    let dir = try TempDir()
    defer { dir.remove() }
    let path = dir.path + "/index"
    let frame = bytes.withUnsafeBytes { Zstd.compress($0, level: 3) }
    try Files.writeAtomically(path, frame)
    let opened = try ImageIndex(path: path, expect: Digest.of(bytes))
    let inMemory = try ImageIndex(bytes: bytes)
    #expect(opened.count == inMemory.count && opened.chunks == inMemory.chunks)
    for i in 0..<opened.count { #expect(opened.path(of: i) == inMemory.path(of: i)) }
    // The digest is of the index, not of the file: a frame of other content is refused.
    var changed = bytes
    changed[changed.count - 1] ^= 1
    try Files.writeAtomically(path, changed.withUnsafeBytes { Zstd.compress($0, level: 3) })
    #expect(throws: IndexError.self) { try ImageIndex(path: path, expect: Digest.of(bytes)) }
    // A truncated frame is an error naming the file, not a crash.
    try Files.writeAtomically(path, Array(frame.prefix(frame.count / 2)))
    let error = #expect(throws: IndexError.self) { try ImageIndex(path: path) }
    #expect(error.map { "\($0)" }?.contains(path) == true)
  }

  @Test func aWrongDigestIsRefused() throws {
    let dir = try TempDir()
    defer { dir.remove() }
    let path = dir.path + "/index"
    try Files.writeAtomically(path, bytes)
    #expect(throws: IndexError.self) { try ImageIndex(path: path, expect: Digest.of([1, 2, 3])) }
    var changed = bytes
    changed[changed.count - 1] ^= 1  // the last byte of the config: still a well-formed index
    try Files.writeAtomically(path, changed)
    #expect(try ImageIndex(path: path).count > 1)
    #expect(throws: IndexError.self) { try ImageIndex(path: path, expect: Digest.of(bytes)) }
  }

  @Test func aMissingFileIsAnError() throws {
    let dir = try TempDir()
    defer { dir.remove() }
    #expect(throws: (any Error).self) { try ImageIndex(path: dir.path + "/absent") }
  }

  @Test func truncatedIndexesAreRefused() throws {
    let dir = try TempDir()
    defer { dir.remove() }
    let n = bytes.count
    for length in [0, 1, 7, 8, 63, 64, 65, 160, n / 3, n / 2, n - 33, n - 2, n - 1] {
      let prefix = Array(bytes[0..<length])
      #expect(throws: IndexError.self, "\(length) of \(n) bytes") { try ImageIndex(bytes: prefix) }
      try Files.writeAtomically(dir.path + "/index", prefix)
      #expect(throws: IndexError.self, "file of \(length) bytes") { try ImageIndex(path: dir.path + "/index") }
    }
  }

  /// Header fields (offset, new value) that no index of this file could have.
  @Test(
    arguments: [
      (0, 0x4d), (8, 0), (8, 1000), (12, 9), (16, 1), (24, 65), (32, 0), (40, 1 << 20), (48, 1 << 30), (56, 1 << 30),
      (60, 1 << 20),
    ] as [(Int, UInt32)])
  func damagedHeadersAreRefused(_ offset: Int, _ value: UInt32) {
    var damaged = bytes
    withUnsafeBytes(of: value.littleEndian) { for k in 0..<4 { damaged[offset + k] = $0[k] } }
    #expect(damaged != bytes)
    #expect(throws: IndexError.self) { try ImageIndex(bytes: damaged) }
  }

  @Test func garbageIsRefused() {
    var rng = SplitMix64(seed: 77)
    for round in 0..<300 {
      var garbage = (0..<Int(rng.next() % 3000)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
      if round % 2 == 0 && garbage.count >= 8 { garbage.replaceSubrange(0..<8, with: IndexFormat.magic) }
      #expect(throws: IndexError.self, "round \(round)") { try ImageIndex(bytes: garbage) }
    }
  }

  /// Damaged entries and strings (past the header checks) may read as nonsense, but reading every entry must not
  /// crash. Damage here stays in the low 32 bits of fields that are clamped when read (not the parent: see below).
  @Test func damagedRecordsReadWithoutCrashing() throws {
    let clean = try ImageIndex(bytes: bytes)
    for entry in [0, 1, clean.count / 2, clean.count - 1] {
      for field in [0, 12, 40, 48, 52, 56, 64, 80, 88] {
        var damaged = bytes
        let at = 64 + entry * 96 + field
        for k in 0..<4 { damaged[at + k] = 0xff }
        let index = try ImageIndex(bytes: damaged)
        #expect(index.count == clean.count && index.chunks == clean.chunks, "the header is intact")
        readEverything(index)
      }
    }
    var strings = bytes
    for k in (bytes.count - 600)..<bytes.count { strings[k] = 0xff }
    readEverything(try ImageIndex(bytes: strings))
  }

  func readEverything(_ index: ImageIndex) {
    for i in 0..<index.count {
      _ = index.path(of: i)
      _ = index.attributes(i)
      _ = index.symlinkTarget(i)
      _ = index.xattrs(i)
      _ = index.lookup(path: index.path(of: i))
      for k in index.extents(i) { _ = index.extent(k) }
      _ = index.extent(of: i, at: 100)
    }
    _ = index.config
    _ = index.chunks
  }

  // Crafted indexes whose arithmetic overflows trap the process. Exit tests run them in a child process.

  @Test func aHugeExtentCountIsRefusedNotATrap() async {
    await #expect(processExitsWith: .success) {
      noCoreDump()
      _ = try? ImageIndex(bytes: craftedHeader(extentCount: 1 << 60, stringsOffset: 160))
    }
  }

  @Test func aHugeStringsOffsetIsRefusedNotATrap() async {
    await #expect(processExitsWith: .success) {
      noCoreDump()
      _ = try? ImageIndex(bytes: craftedHeader(extentCount: 0, stringsOffset: UInt64(Int64.max), configOffset: 1))
    }
  }

  @Test func aHugeChildIndexIsClampedNotATrap() async {
    await #expect(processExitsWith: .success) {
      noCoreDump()
      var bytes = IndexBuilder.build(root: directory())
      for k in 0..<8 { bytes[64 + 56 + k] = 0xff }  // the root's first child
      _ = (try? ImageIndex(bytes: bytes))?.lookup(path: "x")
    }
  }

  @Test func aParentOutOfRangeIsClampedNotACrash() async {
    await #expect(processExitsWith: .success) {
      noCoreDump()
      var bytes = SampleTree().build()
      for k in 0..<4 { bytes[64 + 96 + 36 + k] = 0xff }  // entry 1's parent
      _ = (try? ImageIndex(bytes: bytes))?.path(of: 1)
    }
  }
}

/// Keeps an exit test's expected crash from leaving a core file behind.
func noCoreDump() {
  var none = rlimit(rlim_cur: 0, rlim_max: 0)
  setrlimit(__rlimit_resource_t(RLIMIT_CORE.rawValue), &none)
}

/// A 64-byte header with one entry's worth of space behind it, and the given section fields.
func craftedHeader(extentCount: UInt64, stringsOffset: UInt64, configOffset: UInt32 = 0) -> [UInt8] {
  var bytes = IndexFormat.magic + [UInt8](repeating: 0, count: 56 + 96)
  func put<T: FixedWidthInteger>(_ v: T, _ at: Int) {
    withUnsafeBytes(of: v.littleEndian) { for k in 0..<MemoryLayout<T>.size { bytes[at + k] = $0[k] } }
  }
  put(UInt32(1), 8)  // one entry
  put(extentCount, 16)
  put(UInt64(64), 24)  // entries
  put(UInt64(160), 32)  // extents
  put(UInt64(160), 40)  // chunks
  put(stringsOffset, 48)
  put(configOffset, 56)
  return bytes
}
