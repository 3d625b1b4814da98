import Glibc
import LazyFS
import TestSupport
import Testing

/// A mount shows exactly what `lazyfs export` writes: every path, its metadata to the nanosecond, its
/// xattrs, its bytes and its hardlinks.
@Suite("Mounted trees equal their export")
struct MountedTreeTests {
  @Test(
    "tiny: every kind of entry and metadata", .enabled(if: Fixture.available("tiny")), arguments: Transport.available)
  func tiny(transport: Transport) throws {
    try compare(try PreparedImage.tiny.get(), transport: transport)
  }

  @Test("debian: a minimal Debian root file system", .enabled(if: Fixture.available("debian")))
  func debian() throws {
    try compare(try PreparedImage.debian.get())
  }

  @Test("python: a Debian root file system", .enabled(if: Fixture.available("python")), arguments: Transport.available)
  func python(transport: Transport) throws {
    try compare(try PreparedImage.python.get(), transport: transport)
  }

  private func compare(_ image: PreparedImage, transport: Transport = .asConfigured) throws {
    let want = try TreeSnapshot(image.export, inodes: true)
    try withMount(image, transport: transport) { mountpoint in
      let got = try TreeSnapshot(mountpoint, inodes: true)
      let differences = got.differences(from: want)
      #expect(differences.isEmpty, "\(differences.joined(separator: "\n"))")
      #expect(got.entries.count == want.entries.count)
      // Every file was read whole, so every distinct chunk of the image was loaded: the totals `stats`
      // reports (computed from the index on first use) must match what the reads loaded.
      let stats = try statistics(mountpoint)
      #expect(stats.chunksLoaded == stats.chunksTotal && stats.chunksTotal > 0)
      #expect(stats.bytesLoaded == stats.bytesTotal && stats.shareFetched == 1)
      if transport == .ioUring { #expect(stats.ringRequests ?? 0 > Int64(want.entries.count)) }
      // The file system itself: FUSE, read-only, and sized as the image.
      var s = statvfs()
      #expect(statvfs(mountpoint, &s) == 0)
      #expect(s.f_flag & UInt(ST_RDONLY) != 0)
      #expect(s.f_namemax == 255)
      #expect(s.f_files == UInt(want.entries.count))
      #expect(open(mountpoint + "/created", O_WRONLY | O_CREAT, 0o644) == -1 && errno == EROFS)
    }
  }
}
