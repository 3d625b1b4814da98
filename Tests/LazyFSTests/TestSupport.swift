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

/// `lazyfs ARGS`, expecting success; records the error output otherwise.
@discardableResult
func lazyfs(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> RunResult {
  let r = try run(lazyfsBinary, arguments)
  if r.status != 0 {
    Issue.record("lazyfs \(arguments.joined(separator: " ")) failed: \(r.stderr)", sourceLocation: sourceLocation)
  }
  return r
}

/// An image imported into a store and exported back to a directory: the reference a mount is compared to.
/// Each fixture is imported once per test run, shared by the tests that only read it, and removed at exit.
struct PreparedImage: Sendable {
  let store: String
  let digest: String
  let export: String

  static func prepare(_ fixture: String, into dir: String) throws -> PreparedImage {
    let store = "\(dir)/\(fixture)-store"
    let r = try lazyfs(["import", "--store", store, Fixture.path("\(fixture)/rootfs.tar")])
    guard r.status == 0, r.lastLine.hasPrefix("sha256:") else { throw TestFailure("import of \(fixture) failed") }
    let export = "\(dir)/\(fixture)-export"
    try lazyfs(["export", "--store", store, r.lastLine, export])
    return PreparedImage(store: store, digest: r.lastLine, export: export)
  }

  static let shared: TempDir = {
    let dir = try! TempDir("lazyfs-shared-images")
    sharedDirectory.withLock { $0 = dir.path }
    atexit { sharedDirectory.withLock { path in path.map { Files.removeTree($0) } } }
    return dir
  }()

  static let tiny = Result { try prepare("tiny", into: shared.path) }
  static let python = Result { try prepare("python", into: shared.path) }
  static let debian = Result { try prepare("debian", into: shared.path) }
}

private let sharedDirectory = Mutex<String?>(nil)

struct TestFailure: Error, CustomStringConvertible {
  let description: String
  init(_ description: String) { self.description = description }
}

/// Mounts `image` on a fresh directory, runs `body` with the mount point, and always unmounts: with
/// `lazyfs umount`, falling back to a lazy unmount so that a failing test never leaves a mount behind.
func withMount(
  _ image: PreparedImage, store: String? = nil, extra: [String] = [], transport: Transport = .asConfigured,
  _ body: (_ mountpoint: String) throws -> Void
) throws {
  let dir = try TempDir()
  defer { dir.remove() }
  let mountpoint = try dir.directory("mnt")
  let r = try lazyfsMount(
    ["--store", store ?? image.store] + extra + [image.digest, mountpoint], transport: transport)
  guard r.status == 0 else { throw TestFailure("mount failed: \(r.stderr)") }
  defer { forceUnmount(mountpoint) }
  if transport == .ioUring { #expect(try statistics(mountpoint).transport == "io_uring") }
  try body(mountpoint)
}

/// `lazyfs mount ARGS` with requests coming over `transport`, expecting success.
@discardableResult
func lazyfsMount(
  _ arguments: [String], transport: Transport, sourceLocation: SourceLocation = #_sourceLocation
) throws -> RunResult {
  let mount = { try lazyfs(["mount"] + arguments, sourceLocation: sourceLocation) }
  return transport == .ioUring ? try UringSwitch.on(mount) : try mount()
}

/// Unmounts whatever lazyfs mount is at `mountpoint`, however it can, and waits until it is gone.
func forceUnmount(_ mountpoint: String) {
  guard isMounted(mountpoint) else { return }
  if (try? run(lazyfsBinary, ["umount", mountpoint]))?.status != 0 {
    _ = try? run(lazyfsBinary, ["umount", "--lazy", mountpoint])
  }
  if !waitUntil(seconds: 10, { !isMounted(mountpoint) }) {
    umount2(mountpoint, Int32(MNT_DETACH))
    Issue.record("\(mountpoint) needed a forced lazy unmount")
  }
}

func isMounted(_ path: String) -> Bool {
  ((try? MountTable.mounts()) ?? []).contains { $0.target == path }
}

/// Polls `condition` every 10 ms for up to `seconds`; returns whether it became true.
func waitUntil(seconds: Double, _ condition: () -> Bool) -> Bool {
  let deadline = Date().addingTimeInterval(seconds)
  while Date() < deadline {
    if condition() { return true }
    usleep(10_000)
  }
  return condition()
}

func statistics(_ mountpoint: String) throws -> MountStatistics { try MountStatistics.read(mountpoint: mountpoint) }

/// Reads `count` bytes at `offset` of an open file; the errno is thrown as a `SystemError`.
func pread(_ fd: Int32, _ offset: Int64, _ count: Int) throws -> [UInt8] {
  var buffer = [UInt8](repeating: 0, count: count)
  let file = FileDescriptor(adopting: fd)  // lent: the caller still owns `fd`
  let n = Result { try buffer.withUnsafeMutableBytes { b in try file.pread(into: b, at: offset) } }
  _ = file.release()
  return Array(buffer[0..<(try n.get())])
}

/// The regular files under `root` (relative paths) with their sizes.
func regularFiles(under root: String) throws -> [(path: String, size: Int64)] {
  var out: [(String, Int64)] = []
  var pending = [""]
  while let rel = pending.popLast() {
    let full = rel.isEmpty ? root : "\(root)/\(rel)"
    var st = stat()
    guard lstat(full, &st) == 0 else { throw SystemError("lstat", path: full) }
    switch st.st_mode & S_IFMT {
    case S_IFDIR: pending += try Files.list(full).map { rel.isEmpty ? $0 : "\(rel)/\($0)" }
    case S_IFREG: out.append((rel, Int64(st.st_size)))
    default: break
    }
  }
  return out.sorted { $0.0 < $1.0 }
}

/// Runs `body(i)` for i in 0..<count, each on a thread of its own, and waits for all of them.
func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
  let group = DispatchGroup()
  for i in 0..<count {
    group.enter()
    Thread {
      body(i)
      group.leave()
    }.start()
  }
  group.wait()
}

/// Mounts an overlay with `lower` as its read-only layer and fresh upper and work directories in `dir`,
/// runs `body(merged, upper)`, and unmounts it.
func withOverlay<T>(lower: String, in dir: TempDir, _ body: (_ merged: String, _ upper: String) throws -> T) throws -> T
{
  let upper = try dir.directory("upper")
  let work = try dir.directory("work")
  let merged = try dir.directory("merged")
  let m = try run(
    "/bin/mount", ["-t", "overlay", "overlay", "-o", "lowerdir=\(lower),upperdir=\(upper),workdir=\(work)", merged])
  guard m.status == 0 else { throw TestFailure("mounting the overlay: \(m.stderr)") }
  defer { if umount2(merged, 0) != 0 { umount2(merged, Int32(MNT_DETACH)) } }
  return try body(merged, upper)
}

/// The chunk in the middle of tiny's srv/big-50M, where it is stored, and how to damage it: what the tests
/// of bad bytes in a store or on a server start from.
struct BigFileChunk {
  let store: ChunkStore
  let index: ImageIndex
  let extents: Range<Int>
  let damaged: Extent
  let location: ChunkLocation

  init(_ image: PreparedImage) throws {
    store = try ChunkStore(root: image.store)
    guard let digest = Digest(hex: image.digest) else { throw TestFailure("bad digest \(image.digest)") }
    index = try ImageIndex(path: store.indexPath(digest), expect: digest)
    guard let big = index.lookup(path: "srv/big-50M") else { throw TestFailure("no srv/big-50M") }
    extents = index.extents(big)
    damaged = index.extent(extents.lowerBound + extents.count / 2)
    guard let location = store.location(of: damaged.chunk) else { throw TestFailure("chunk not in store") }
    self.location = location
  }

  /// Flips a byte of the chunk in the copy of its pack under `packsDirectory` (the store's, or a published
  /// one's): in the compressed block, or in the chunk itself where the block is stored uncompressed.
  func damage(packsDirectory: String) throws {
    let pack = "\(packsDirectory)/\(store.packIDs[Int(location.pack)].hex).pack"
    let at =
      location.compressed
      ? Int64(location.blockOffset) + Int64(location.blockStoredLength / 2)
      : Int64(location.blockOffset) + Int64(location.offsetInBlock) + Int64(location.length / 2)
    try flipByte(pack, at: at)
  }
}
