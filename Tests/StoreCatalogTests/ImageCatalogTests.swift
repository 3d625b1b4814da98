import Glibc
import LinuxSystem
import StoreCatalog
import Testing

/// Resolving references against a store's names and indexes, written here by hand as the layout says:
/// the catalog needs no packs, and no code that writes them.
@Suite struct ImageCatalogTests {
  struct Store {
    let root: String
    init(layout: String = "lazyfs-store 2\n") throws {
      var template = Array("/tmp/lazyfs-catalog-XXXXXX".utf8CString)
      guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
        throw SystemError("mkdtemp")
      }
      root = String(cString: made)
      for dir in StoreLocation(root: root).directories { try Files.makeDirectories(dir) }
      try Files.writeAtomically(root + "/layout", Array(layout.utf8))
    }
    @discardableResult
    func image(_ hex: String) throws -> ImageDigest {
      let digest = try #require(ImageDigest(hex))
      try Files.writeAtomically(StoreLocation(root: root).indexPath(digest), [1])
      return digest
    }
    func name(_ name: String, _ contents: String) throws {
      try Files.writeAtomically(root + "/names/" + name.replacing("/", with: "%2F"), Array(contents.utf8))
    }
    func remove() { _ = system("rm -rf '\(root)'") }
  }

  static let a = "aa" + String(repeating: "0", count: 62)
  static let b = "ab" + String(repeating: "1", count: 62)
  static let c = "c" + String(repeating: "2", count: 63)

  @Test func namesDigestsAndUniquePrefixesResolve() throws {
    let s = try Store()
    defer { s.remove() }
    let (a, b, c) = (try s.image(Self.a), try s.image(Self.b), try s.image(Self.c))
    try s.name("team/app:1", "sha256:\(Self.b)\n")
    try s.name("plain", Self.c)  // no algorithm, no newline: as written by hand
    let catalog = try ImageCatalog(root: s.root)
    #expect(try catalog.resolve("team/app:1") == b)
    #expect(try catalog.resolve("plain") == c)
    #expect(try catalog.resolve(Self.a) == a)
    #expect(try catalog.resolve("sha256:" + Self.a.uppercased()) == a)
    #expect(try catalog.resolve("aa") == a)
    #expect(try catalog.resolve("AB") == b)
    #expect(try catalog.resolve("c") == c)
    #expect(try catalog.names().map(\.name) == ["plain", "team/app:1"])
    #expect(try catalog.imageDigests() == [a, b, c])
  }

  @Test func aNameWinsOverADigestPrefix() throws {
    let s = try Store()
    defer { s.remove() }
    try s.image(Self.a)
    let c = try s.image(Self.c)
    try s.name("aa", "sha256:\(Self.c)\n")
    #expect(try ImageCatalog(root: s.root).resolve("aa") == c)
  }

  @Test func anAmbiguousPrefixNamesItsCandidates() throws {
    let s = try Store()
    defer { s.remove() }
    let (a, b) = (try s.image(Self.a), try s.image(Self.b))
    let error = #expect(throws: CatalogError.self) { try ImageCatalog(root: s.root).resolve("a") }
    guard case .ambiguousImage(let reference, let candidates) = error else {
      Issue.record("expected ambiguousImage, got \(String(describing: error))")
      return
    }
    #expect(reference == "a")
    #expect(Set(candidates) == [a.description, b.description])
  }

  @Test(arguments: ["nosuch:tag", "", "sha256:", "zz", "d", "../names/x", String(repeating: "e", count: 64)])
  func unknownReferencesAreNamed(_ reference: String) throws {
    let s = try Store()
    defer { s.remove() }
    try s.image(Self.a)
    let error = #expect(throws: CatalogError.self) { try ImageCatalog(root: s.root).resolve(reference) }
    guard case .unknownImage(let got) = error else {
      Issue.record("expected unknownImage, got \(String(describing: error))")
      return
    }
    #expect(got == reference)
    #expect("\(error!)" == "no image matches \"\(reference)\"")
  }

  /// A name whose file holds no digest is refused by name, not taken for a digest prefix.
  @Test func aCorruptNameIsNamed() throws {
    let s = try Store()
    defer { s.remove() }
    try s.image(Self.a)
    try s.name("broken", "not a digest\n")
    let error = #expect(throws: CatalogError.self) { try ImageCatalog(root: s.root).resolve("broken") }
    guard case .corruptName(let name, let path) = error else {
      Issue.record("expected corruptName, got \(String(describing: error))")
      return
    }
    #expect(name == "broken" && path == s.root + "/names/broken")
    #expect(try ImageCatalog(root: s.root).names().isEmpty, "listing skips it")
  }

  /// With a remote, only "not here" passes a reference on: what else is wrong with the store is thrown.
  @Test func resolveIfPresentIsNilOnlyForAnImageOrStoreThatIsNotThere() throws {
    let s = try Store()
    defer { s.remove() }
    let (a, _) = (try s.image(Self.a), try s.image(Self.b))
    try s.name("broken", "not a digest\n")
    #expect(try ImageCatalog.resolveIfPresent("aa", inStoreAt: s.root) == a)
    #expect(try ImageCatalog.resolveIfPresent("no-such-name", inStoreAt: s.root) == nil)
    #expect(try ImageCatalog.resolveIfPresent(String(repeating: "e", count: 64), inStoreAt: s.root) == nil)
    #expect(try ImageCatalog.resolveIfPresent("aa", inStoreAt: s.root + "/absent") == nil)
    #expect(throws: CatalogError.self, "ambiguous") { try ImageCatalog.resolveIfPresent("a", inStoreAt: s.root) }
    #expect(throws: CatalogError.self, "corrupt name") {
      try ImageCatalog.resolveIfPresent("broken", inStoreAt: s.root)
    }
  }

  @Test(arguments: ["lazyfs-store 3\n", "lazyfs-store 0\n", "lazyfs-store x\n", "lazyfs-store 2", "other\n"])
  func aLayoutOfAnotherVersionIsNotAStore(_ layout: String) throws {
    let s = try Store(layout: layout)
    defer { s.remove() }
    let error = #expect(throws: CatalogError.self) { try ImageCatalog(root: s.root) }
    guard case .notAStore(let path, let reason) = error else {
      Issue.record("expected notAStore, got \(String(describing: error))")
      return
    }
    #expect(path == s.root)
    #expect(reason.contains("is not a version this lazyfs reads"), "\(reason)")
  }

  @Test func aMissingStoreSaysWhatIsMissing() throws {
    let s = try Store()
    defer { s.remove() }
    unlink(s.root + "/layout")
    #expect(throws: CatalogError.notAStore(path: s.root, reason: "no layout file")) {
      try ImageCatalog(root: s.root)
    }
    #expect(throws: CatalogError.notAStore(path: s.root + "/absent", reason: "no such directory")) {
      try ImageCatalog(root: s.root + "/absent")
    }
  }
}
