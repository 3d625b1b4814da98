import Foundation
import LinuxSystem
import TestSupport
import Testing

/// Import then export gives back the source exactly: content, every metadata field, xattrs, hardlinks.
@Suite(.serialized) struct RoundTripTests {
  /// Exports `image` to a directory and compares it with `reference`.
  func expectExportEquals(
    _ image: String, _ reference: String, store: String, in tmp: TempDir, label: String,
    sourceLocation: SourceLocation = #_sourceLocation
  ) throws {
    let dest = tmp.sub("export-\(label)")
    try lazyfs(["export", image, dest], store: store, sourceLocation: sourceLocation)
    let got = try TreeSnapshot(dest)
    let want = try TreeSnapshot(reference)
    let diff = got.differences(from: want)
    #expect(diff.isEmpty, "\(label): export differs from \(reference):\n\(diff.joined(separator: "\n"))")
    #expect(got.entries.count == want.entries.count, sourceLocation: sourceLocation)
    Files.removeTree(dest)
  }

  @Test(.enabled(if: Fixture.available("tiny"), "the tiny fixture (make fixtures)"))
  func tinyEveryFormatExportsTheReferenceTree() throws {
    let tmp = try TempDir()
    defer { tmp.remove() }
    let store = tmp.sub("store")
    let reference = Fixture.path("tiny/rootfs")  // umoci's unpack of the OCI layout
    var digests: [String: String] = [:]
    for source in ["oci", "docker.tar", "rootfs.tar", "rootfs.tar.gz", "rootfs.tar.zst", "rootfs"] {
      let digest = try importImage(Fixture.path("tiny/\(source)"), store: store)
      digests[source] = digest
      try expectExportEquals(digest, reference, store: store, in: tmp, label: source.replacing(".", with: "-"))
    }
    // The same layers give the same image, whichever archive carried them; so does the same tree.
    #expect(digests["oci"] == digests["docker.tar"])
    for s in ["rootfs.tar.gz", "rootfs.tar.zst", "rootfs"] { #expect(digests[s] == digests["rootfs.tar"], "\(s)") }
    try lazyfs(["verify"], store: store)
  }

  @Test(.enabled(if: Fixture.available("tiny"), "the tiny fixture (make fixtures)"))
  func tinyWhiteoutsAndSpecialFilesHoldAfterExport() throws {
    let tmp = try TempDir()
    defer { tmp.remove() }
    let store = tmp.sub("store")
    let digest = try importImage(Fixture.path("tiny/oci"), store: store)
    let dest = tmp.sub("export")
    try lazyfs(["export", digest, dest], store: store)
    // expect.txt lists the whiteout, opaque-directory, hardlink, device, xattr... facts of the image.
    let check = try run("/usr/bin/python3", [checkExpect, Fixture.path("tiny/expect.txt"), dest])
    #expect(check.status == 0, "check-expect failed:\n\(check.stdout)\(check.stderr)")
    #expect(!FileManager.default.fileExists(atPath: dest + "/etc/delete-me"))
    #expect(!FileManager.default.fileExists(atPath: dest + "/somedir/old-file-1"))
    #expect(FileManager.default.fileExists(atPath: dest + "/somedir/new-file"))
  }

  @Test(.enabled(if: Fixture.available("tiny"), "the tiny fixture (make fixtures)"))
  func exportedTarReimportsToTheSameImage() throws {
    let tmp = try TempDir()
    defer { tmp.remove() }
    let store = tmp.sub("store")
    let digest = try importImage(Fixture.path("tiny/rootfs.tar"), store: store)
    let tar = tmp.sub("out.tar")
    try lazyfs(["export", digest, tar], store: store)
    #expect(try importImage(tar, store: store) == digest)
    // GNU tar reads what we write, with xattrs and devices.
    let dest = tmp.sub("gnu")
    try FileManager.default.createDirectory(atPath: dest, withIntermediateDirectories: false)
    let untar = try run("/bin/tar", ["--xattrs", "--xattrs-include=*", "--numeric-owner", "-xpf", tar, "-C", dest])
    #expect(untar.status == 0, "\(untar.stderr)")
    let got = try TreeSnapshot(dest, includeRoot: false)
    let want = try TreeSnapshot(Fixture.path("tiny/rootfs"), includeRoot: false)
    let diff = got.differences(from: want)
    #expect(diff.isEmpty, "GNU tar extraction differs:\n\(diff.joined(separator: "\n"))")
  }

  // One test per distribution fixture, each enabled by its own fixture, so that a missing one shows as
  // a skipped test (with `make fixtures` as the way to get it) instead of passing without a check.
  @Test(.enabled(if: Fixture.available("debian"), "the debian fixture (make fixtures)"))
  func debianRoundTrip() throws { try distributionRoundTrip("debian") }

  @Test(.enabled(if: Fixture.available("python"), "the python fixture (make fixtures)"))
  func pythonRoundTrip() throws { try distributionRoundTrip("python") }

  /// The distribution fixture `name` imported from its tarball and its directory gives one image, and
  /// that image exports back to the directory.
  func distributionRoundTrip(_ name: String) throws {
    let tmp = try TempDir()
    defer { tmp.remove() }
    let store = tmp.sub("store")
    let fromTar = try importImage(Fixture.path("\(name)/rootfs.tar"), store: store)
    let fromDir = try importImage(Fixture.path("\(name)/rootfs"), store: store)
    #expect(fromTar == fromDir, "the tarball and the directory of the same tree give different images")
    try expectExportEquals(fromTar, Fixture.path("\(name)/rootfs"), store: store, in: tmp, label: name)
  }
}

/// Fixtures/check-expect.py in this checkout.
let checkExpect: String = {
  var dir = URL(fileURLWithPath: #filePath)
  for _ in 0..<3 { dir.deleteLastPathComponent() }
  return dir.path + "/Fixtures/check-expect.py"
}()
