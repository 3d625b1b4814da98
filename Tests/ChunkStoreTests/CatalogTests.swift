import ChunkStore
import Codecs
import LinuxSystem
import StoreCatalog
import Testing

/// Image indexes and names: content-addressed storage, name rules, and resolving references.
@Suite struct CatalogTests {
  @Test func anIndexRoundTripsUnderItsDigest() throws {
    let t = try TestStore()
    defer { t.remove() }
    let bytes = randomBytes(10_000, seed: 61)
    let digest = try t.store.putIndex(bytes)
    #expect(digest == Digest.of(bytes))
    #expect(try t.store.indexBytes(digest) == bytes)
    #expect(try t.store.putIndex(bytes) == digest, "putting the same index again is harmless")
    #expect(try t.store.imageDigests() == [digest])
    #expect(try t.reopened().indexBytes(digest) == bytes)
    #expect(try Files.read(t.store.indexPath(digest)) == bytes, "incompressible: stored as it is")
  }

  @Test func aCompressibleIndexIsStoredAsOneZstdFrame() throws {
    let t = try TestStore()
    defer { t.remove() }
    let bytes = (0..<20_000).flatMap { Array("entry \($0 % 97)\n".utf8) }
    let digest = try t.store.putIndex(bytes)
    let file = try Files.read(t.store.indexPath(digest))
    #expect(file.count < bytes.count / 4)
    #expect(file.withUnsafeBytes { Zstd.isFrame($0) })
    #expect(try t.reopened().indexBytes(digest) == bytes)
    // A truncated frame is named as a corrupt index.
    try Files.writeAtomically(t.store.indexPath(digest), Array(file.prefix(file.count - 20)))
    let error = #expect(throws: StoreError.self) { try t.store.indexBytes(digest) }
    guard case .corruptImageIndex(let d, _) = error else {
      Issue.record("expected corruptImageIndex, got \(String(describing: error))")
      return
    }
    #expect(d == digest)
    // A store written before indexes were compressed holds them raw: still read as they are.
    try Files.writeAtomically(t.store.indexPath(digest), bytes)
    #expect(try t.store.indexBytes(digest) == bytes)
  }

  @Test func aCorruptIndexIsDetected() throws {
    let t = try TestStore()
    defer { t.remove() }
    let bytes = Array("an image index".utf8)
    let digest = try t.store.putIndex(bytes)
    var damaged = bytes
    damaged[3] ^= 1
    try Files.writeAtomically(t.store.indexPath(digest), damaged)
    let error = #expect(throws: StoreError.self) { try t.store.indexBytes(digest) }
    guard case .corruptImageIndex(let d, _) = error else {
      Issue.record("expected corruptImageIndex, got \(String(describing: error))")
      return
    }
    #expect(d == digest)
  }

  @Test func anUnknownIndexIsAnError() throws {
    let t = try TestStore()
    defer { t.remove() }
    let error = #expect(throws: CatalogError.self) { try t.store.indexBytes(Digest.of([1])) }
    guard case .unknownImage = error else {
      Issue.record("expected unknownImage, got \(String(describing: error))")
      return
    }
  }

  /// Names `ImageName` refuses (see StoreCatalogTests) are refused by the store, which writes nothing.
  @Test(arguments: ["", "../x", "/abs", "a/../b", ".tmp-x", "team/.hidden", "a//b", "%2F"])
  func invalidNamesAreRefused(_ name: String) throws {
    let t = try TestStore()
    defer { t.remove() }
    let error = #expect(throws: CatalogError.self) { try t.store.setName(name, to: Digest.of([1])) }
    guard case .invalidName = error else {
      Issue.record("expected invalidName, got \(String(describing: error))")
      return
    }
    #expect(try t.store.names().isEmpty)
    #expect(try Files.list(t.store.namesDirectory).isEmpty)
  }

  @Test func namesResolveAndListWithSlashes() throws {
    let t = try TestStore()
    defer { t.remove() }
    let one = try t.store.putIndex([1])
    let two = try t.store.putIndex([2])
    try t.store.setName("debian:bookworm", to: one)
    try t.store.setName("team/app:1.2", to: two)
    #expect(try t.store.resolve("debian:bookworm") == one)
    #expect(try t.store.resolve("team/app:1.2") == two)
    let names = try t.store.names()
    #expect(names.map(\.name) == ["debian:bookworm", "team/app:1.2"])
    #expect(names.map(\.digest) == [one, two])
    #expect(try t.reopened().resolve("team/app:1.2") == two)

    try t.store.setName("debian:bookworm", to: two)  // a name moves
    #expect(try t.store.resolve("debian:bookworm") == two)
    t.store.removeName("debian:bookworm")
    #expect(try t.store.names().map(\.name) == ["team/app:1.2"])
    #expect(throws: CatalogError.self) { try t.store.resolve("debian:bookworm") }
  }

  @Test func digestsResolveInFullOrByUniquePrefix() throws {
    let t = try TestStore()
    defer { t.remove() }
    let images = try (0..<17).map { try t.store.putIndex([UInt8($0)]) }
    for d in images {
      #expect(try t.store.resolve(d.hex) == d)
      #expect(try t.store.resolve(d.description) == d)
      #expect(try t.store.resolve(d.hex.uppercased()) == d)
      let unique = try #require(shortestUniquePrefix(of: d, among: images))
      #expect(try t.store.resolve(unique) == d)
      #expect(try t.store.resolve("sha256:" + unique) == d)
    }
  }

  @Test func anAmbiguousPrefixListsItsCandidates() throws {
    let t = try TestStore()
    defer { t.remove() }
    // 17 images: two of them must share a first hex digit.
    let images = try (0..<17).map { try t.store.putIndex([UInt8($0)]) }
    let groups = Dictionary(grouping: images) { $0.hex.prefix(1) }
    let (prefix, shared) = try #require(groups.first { $0.value.count > 1 })
    let error = #expect(throws: CatalogError.self) { try t.store.resolve(String(prefix)) }
    guard case .ambiguousImage(let reference, let candidates) = error else {
      Issue.record("expected ambiguousImage, got \(String(describing: error))")
      return
    }
    #expect(reference == String(prefix))
    #expect(Set(candidates) == Set(shared.map(\.description)))
  }

  @Test(arguments: [
    "nosuch:tag", "sha256:", "", "zz", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
  ])
  func unknownReferencesAreErrors(_ reference: String) throws {
    let t = try TestStore()
    defer { t.remove() }
    try t.store.putIndex(Array("x".utf8))
    if let d = Digest(hex: reference) { #expect(try !t.store.imageDigests().contains(d)) }
    let error = #expect(throws: CatalogError.self) { try t.store.resolve(reference) }
    guard case .unknownImage(let got) = error else {
      Issue.record("expected unknownImage, got \(String(describing: error))")
      return
    }
    #expect(got == reference)
  }

  /// A name that looks like a digest prefix is a name first.
  @Test func aNameWinsOverADigestPrefix() throws {
    let t = try TestStore()
    defer { t.remove() }
    let one = try t.store.putIndex([1])
    let two = try t.store.putIndex([2])
    let prefix = String(one.hex.prefix(6))
    try t.store.setName(prefix, to: two)
    #expect(try t.store.resolve(prefix) == two)
  }

  func shortestUniquePrefix(of d: Digest, among all: [Digest]) -> String? {
    for n in 1...64 {
      let p = d.hex.prefix(n)
      if all.filter({ $0.hex.hasPrefix(p) }).count == 1 { return String(p) }
    }
    return nil
  }
}
