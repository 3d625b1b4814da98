import ArgumentParser
import ChunkStore
import Codecs
import Glibc
import ImageIndex
import JSON
import StoreCatalog

/// Every command names itself in its configuration: otherwise ArgumentParser derives the name with
/// `String(describing:)`, whose protocol conformance scans were 15 % of the CPU of starting `lazyfs`.
@main
struct LazyFSCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "lazyfs",
    abstract: "A content-addressed image store and lazily loaded container root filesystem.",
    version: "lazyfs 0.1.0",
    subcommands: [
      Import.self, Images.self, RemoveImage.self, Inspect.self, Export.self, Publish.self, Verify.self, GC.self,
      Mount.self, Umount.self, Stats.self, Resolve.self, Pull.self, ProfileCommand.self,
    ])

  static func main() {
    if let command = FastPath.command(Array(CommandLine.arguments.dropFirst())) { FastPath.run(command) }
    Self.main(nil)
  }
}

/// Options every verb that touches a store takes.
struct StoreOptions: ParsableArguments {
  @Option(help: "The store directory (default: $LAZYFS_STORE, else /var/lib/lazyfs).")
  var store: String?

  /// Absolute; the default as `StoreLocation.path` decides it.
  var path: String { StoreLocation.path(store) }

  func open(create: Bool = false) throws -> ChunkStore { try ChunkStore(root: path, create: create) }
}

/// Runs a verb's body; an error becomes one line on stderr, `lazyfs VERB: what went wrong`, and exit status 1.
/// A node configuration that cannot be read stops every verb but those that only look at or end a mount
/// (`umount`, `stats`, `profile save`): a typo in it must not go unnoticed, nor keep a mount from ending.
func guarded(_ verb: String, _ body: () throws -> Void) throws {
  do {
    if !["umount", "stats", "profile save"].contains(verb) { _ = try NodeConfig.current() }
    try body()
  } catch let e as ExitCode { throw e } catch {
    printError("lazyfs \(verb): \(error)")
    throw ExitCode(1)
  }
}

func printError(_ line: String) {
  let text = line + "\n"
  _ = text.withCString { write(2, $0, strlen($0)) }
}

/// Prints one JSON document, indented, members sorted by name.
func printJSON(_ value: JSONValue) {
  print(String(decoding: value.sortingKeys().prettyEncoded(), as: UTF8.self))
}

/// "1.5 GiB" and so on.
func humanBytes(_ n: Int64) -> String {
  let units = ["B", "KiB", "MiB", "GiB", "TiB"]
  var v = Double(n)
  var u = 0
  while v >= 1024 && u < units.count - 1 {
    v /= 1024
    u += 1
  }
  return u == 0 ? "\(n) B" : String(format1(v)) + " " + units[u]
}

func format1(_ v: Double) -> String {
  let tenths = Int((v * 10).rounded())
  return "\(tenths / 10).\(tenths % 10)"
}

/// Opens the index of the image `reference` names.
func openImage(_ store: ChunkStore, _ reference: String) throws -> (Digest, ImageIndex) {
  let digest = try store.resolve(reference)
  return (digest, try ImageIndex(path: store.indexPath(digest), expect: digest))
}
