import ChunkStore
import ImageImport
import LinuxSystem
import StoreCatalog
import TestSupport
import Testing

/// An import's error says where it happened in one line and keeps the failed call underneath.
@Suite struct ImportErrorCauseTests {
  @Test func aMissingSourceKeepsItsErrno() throws {
    let dir = try TempDir()
    defer { dir.remove() }
    let store = try ChunkStore(root: dir.sub("store"), create: true)
    let error = #expect(throws: (any Error).self) {
      try Importer(store: store).run(source: dir.sub("no-such.tar"))
    }
    let failure = try #require(error)
    #expect(failure.systemError?.errno == .ENOENT, "ENOENT told without parsing: \(failure)")
    #expect(failure.systemError?.path?.hasSuffix("no-such.tar") == true)
    #expect(!"\(failure)".contains("\n"), "one line: \(failure)")
    #expect(try store.imageDigests().isEmpty)
  }

  @Test func anInvalidNameIsACatalogError() throws {
    let dir = try TempDir()
    defer { dir.remove() }
    let store = try ChunkStore(root: dir.sub("store"), create: true)
    #expect(throws: CatalogError.invalidName("../x")) { try Importer(store: store).run(source: dir.path, name: "../x") }
  }
}
