import Foundation
import LinuxSystem
import TestSupport
import Testing

/// Dedup across images, crash safety and garbage collection, through the CLI.
@Suite(.serialized) struct StoreBehaviourTests {
  /// Importing `python` after `debian` stores about what `python` adds: no more than 1.05 × what a fresh
  /// store needs for just the files of `python` that `debian` lacks or has with other content.
  @Test(.enabled(if: Fixture.available("python") && Fixture.available("debian")))
  func pythonAfterDebianStoresOnlyWhatPythonAdds() throws {
    let tmp = try TempDir()
    defer { tmp.remove() }
    let store = tmp.sub("store")
    try importImage(Fixture.path("debian/rootfs.tar"), store: store)
    let afterDebian = try diskBytes(store)
    try importImage(Fixture.path("python/rootfs.tar"), store: store)
    let growth = try diskBytes(store) - afterDebian

    // The delta: python's regular files that are new or changed, as a tar, in a store of its own.
    let debian = try TreeSnapshot(Fixture.path("debian/rootfs"))
    let python = try TreeSnapshot(Fixture.path("python/rootfs"))
    let changed = python.entries.filter { path, e in
      e.mode & S_IFMT == S_IFREG && debian.entries[path]?.content != e.content
    }.keys.sorted()
    #expect(changed.count > 1000, "python should add thousands of files to debian")
    let list = tmp.sub("delta.list")
    try changed.joined(separator: "\n").write(toFile: list, atomically: false, encoding: .utf8)
    let tar = tmp.sub("delta.tar")
    let made = try run(
      "/bin/tar", ["-cf", tar, "-C", Fixture.path("python/rootfs"), "--no-recursion", "-T", list])
    #expect(made.status == 0, "\(made.stderr)")
    let deltaStore = tmp.sub("delta-store")
    try importImage(tar, store: deltaStore)
    let delta = try diskBytes(deltaStore)
    #expect(
      Double(growth) <= 1.05 * Double(delta), "python after debian grew the store by \(growth), delta is \(delta)")
    try lazyfs(["verify"], store: store)
  }

  /// kill -9 at several moments of an import, then: verify passes, and the re-run gives the same digest.
  @Test(.enabled(if: Fixture.available("python")))
  func killedImportsLeaveAValidStore() throws {
    let tmp = try TempDir()
    defer { tmp.remove() }
    let source = Fixture.path("python/rootfs.tar")
    let clean = try importImage(source, store: tmp.sub("clean"))
    let store = tmp.sub("store")
    try importImage(Fixture.path("tiny/rootfs.tar"), store: store)
    for delay in [0.005, 0.05, 0.2, 0.4, 0.7] {
      let p = try Spawned(lazyfsBinary, ["import", source, "--store", store])
      usleep(UInt32(delay * 1e6))
      p.signal(SIGKILL)
      _ = try p.wait()
      let v = try lazyfs(["verify"], store: store)
      #expect(v.status == 0, "after kill -9 at \(delay) s: \(v.stderr)")
    }
    #expect(try importImage(source, store: store) == clean)
    // gc clears what the killed runs left (uncommitted packs, tmp files) and keeps both images whole.
    try lazyfs(["gc"], store: store)
    let leftovers = Files.exists(store + "/tmp") ? try Files.list(store + "/tmp") : []
    #expect(leftovers.isEmpty)
    let packs = try Files.list(store + "/packs")
    for p in packs where p.hasSuffix(".pack") {
      #expect(packs.contains(String(p.dropLast(5)) + ".idx"), "an uncommitted pack survived gc: \(p)")
    }
    try lazyfs(["verify"], store: store)
    let dest = tmp.sub("export")
    try lazyfs(["export", clean, dest], store: store)
    #expect(try TreeSnapshot(dest).differences(from: TreeSnapshot(Fixture.path("python/rootfs"))).isEmpty)
  }

  @Test(.enabled(if: Fixture.available("tiny") && Fixture.available("debian")))
  func gcFreesARemovedImageAndKeepsTheRest() throws {
    let tmp = try TempDir()
    defer { tmp.remove() }
    let store = tmp.sub("store")
    let tiny = try importImage(Fixture.path("tiny/rootfs.tar"), store: store)
    let tinyOnly = try diskBytes(store)
    try lazyfs(["import", "--name", "debian:bookworm", Fixture.path("debian/rootfs.tar")], store: store)
    let before = try diskBytes(store)
    try lazyfs(["rmi", "debian:bookworm"], store: store)
    let images = try lazyfs(["images", "--json"], store: store).stdout
    #expect(!images.contains("debian:bookworm") && images.contains(tiny))
    try lazyfs(["gc"], store: store)
    let after = try diskBytes(store)
    // Back to about what tiny alone took (names and indexes aside): debian's 45 MB of chunks are gone.
    #expect(after < before - 40_000_000 && after <= tinyOnly + 100_000, "gc: \(tinyOnly), \(before) -> \(after)")
    try lazyfs(["verify"], store: store)
    let dest = tmp.sub("export")
    try lazyfs(["export", String(tiny.prefix(15)), dest], store: store)
    #expect(try TreeSnapshot(dest).differences(from: TreeSnapshot(Fixture.path("tiny/rootfs"))).isEmpty)
  }

  @Test(.enabled(if: Fixture.available("tiny")))
  func verifyNamesACorruptPack() throws {
    let tmp = try TempDir()
    defer { tmp.remove() }
    let store = tmp.sub("store")
    let digest = try importImage(Fixture.path("tiny/rootfs.tar"), store: store)
    let pack = try Files.list(store + "/packs").first { $0.hasSuffix(".pack") }!
    // Flip a byte in the middle of the pack's data.
    let path = "\(store)/packs/\(pack)"
    let fd = try FileDescriptor.open(path, O_RDWR)
    let middle = try fd.size() / 2
    var byte: [UInt8] = [0]
    _ = try byte.withUnsafeMutableBytes { try fd.pread(into: $0, at: middle) }
    byte[0] ^= 0xff
    try byte.withUnsafeBytes { try fd.pwrite($0, at: middle) }
    fd.close()
    let v = try run(lazyfsBinary, ["verify", "--store", store])
    #expect(v.status != 0)
    #expect(v.stderr.contains(String(pack.prefix(16))), "verify does not name the pack: \(v.stderr)")
    // Export refuses rather than write wrong bytes, and leaves no partial tree behind.
    let dest = tmp.sub("export")
    let e = try run(lazyfsBinary, ["export", digest, dest, "--store", store])
    #expect(e.status != 0)
    #expect(e.stderr.contains("corrupt"), "\(e.stderr)")
    #expect(!Files.exists(dest), "a failed export left a partial tree")
  }
}
