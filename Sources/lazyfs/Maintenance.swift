import ArgumentParser
import ChunkStore
import Codecs
import ImageIndex

/// The chunks an image index uses, for verify and gc.
func chunksOfIndex(_ bytes: [UInt8]) throws -> [Digest] { try ImageIndex(bytes: bytes).chunks }

struct Verify: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "verify",
    abstract: "Re-hash every chunk, pack index and image index; name anything corrupt or missing.")
  @OptionGroup var storeOptions: StoreOptions

  func run() throws {
    try guarded("verify") {
      let store = try storeOptions.open()
      let r = try store.verify(chunksOf: chunksOfIndex)
      for p in r.problems { printError("lazyfs verify: \(p)") }
      print(
        "\(r.packs) packs, \(r.chunks) chunks, \(r.images) images checked: "
          + (r.problems.isEmpty ? "ok" : "\(r.problems.count) problem(s)"))
      if !r.problems.isEmpty { throw ExitCode(1) }
    }
  }
}

struct GC: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "gc", abstract: "Remove chunks no image references (waits for imports in progress).")
  @OptionGroup var storeOptions: StoreOptions

  func run() throws {
    try guarded("gc") {
      let store = try storeOptions.open()
      let r = try store.collectGarbage(chunksOf: chunksOfIndex)
      print(
        "removed \(r.chunksRemoved) chunks: \(r.packsRemoved) packs deleted, \(r.packsRewritten) rewritten, "
          + "\(humanBytes(r.bytesFreed)) freed")
    }
  }
}
