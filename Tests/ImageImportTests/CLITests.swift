import Foundation
import TestSupport
import Testing

/// The `lazyfs` verbs around import: names, listing, inspection, and the errors a user meets first.
struct CLITests {
  @Test(.enabled(if: Fixture.available("tiny")))
  func namesListingAndInspection() throws {
    let tmp = try TempDir()
    defer { tmp.remove() }
    let store = tmp.sub("store")
    let r = try lazyfs(["import", "--name", "team/tiny:1.0", "--json", Fixture.path("tiny/oci")], store: store)
    let digest = r.lastLine
    // --json: a summary document, then the digest as the last line.
    let json = String(r.stdout.dropLast(digest.count + 1))
    let summary = try JSONSerialization.jsonObject(with: Data(json.utf8)) as! [String: Any]
    #expect(summary["digest"] as? String == digest)
    #expect(summary["kind"] as? String == "oci")
    #expect(summary["layers"] as? Int == 3)
    for key in ["files", "bytesIn", "chunksNew", "chunksReused", "bytesStored", "dedupRatio", "seconds"] {
      #expect(summary[key] != nil, "summary lacks \(key)")
    }

    let images = try lazyfs(["images"], store: store).stdout
    #expect(images.contains("team/tiny:1.0") && images.contains(String(digest.prefix(23))))

    for reference in ["team/tiny:1.0", digest, String(digest.dropFirst(7).prefix(6)), String(digest.prefix(12))] {
      let i = try lazyfs(["inspect", "--json", reference], store: store)
      let doc = try JSONSerialization.jsonObject(with: Data(i.stdout.utf8)) as! [String: Any]
      #expect(doc["digest"] as? String == digest, "\(reference)")
      #expect((doc["regularFiles"] as? Int ?? 0) > 10)
      #expect((doc["hardlinks"] as? Int ?? 0) >= 1)
      #expect(doc["hasConfig"] as? Bool == true)
    }
    let listing = try lazyfs(["inspect", "--list", digest], store: store).stdout
    #expect(listing.contains("/bin/sh -> busybox"))
  }

  @Test(.enabled(if: Fixture.available("tiny")))
  func unknownAmbiguousAndInvalidReferences() throws {
    let tmp = try TempDir()
    defer { tmp.remove() }
    let store = tmp.sub("store")
    try importImage(Fixture.path("tiny/rootfs.tar"), store: store)
    let unknown = try run(lazyfsBinary, ["inspect", "no-such-image", "--store", store])
    #expect(unknown.status != 0)
    #expect(unknown.stderr == "lazyfs inspect: no image matches \"no-such-image\"\n")
    let badName = try run(
      lazyfsBinary, ["import", "--name", "../evil", Fixture.path("tiny/rootfs.tar"), "--store", store])
    #expect(badName.status != 0)
    #expect(badName.stderr.contains("invalid image name"), "\(badName.stderr)")
    let notStore = try run(lazyfsBinary, ["images", "--store", Fixture.path("tiny/rootfs")])
    #expect(notStore.status != 0)
    #expect(notStore.stderr.contains("not a lazyfs store"), "\(notStore.stderr)")
    let exportOver = try run(lazyfsBinary, ["export", "--store", store, "sha256:", Fixture.path("tiny")])
    #expect(exportOver.status != 0)
  }

  @Test func versionAndHelp() throws {
    let v = try run(lazyfsBinary, ["--version"])
    #expect(v.status == 0 && v.stdout.hasPrefix("lazyfs "))
    let h = try run(lazyfsBinary, ["--help"])
    for verb in ["import", "images", "inspect", "export", "verify", "gc", "rmi"] {
      #expect(h.stdout.contains(verb), "help lacks \(verb)")
    }
  }
}
