import ArgumentParser
import ChunkStore
import Glibc
import ImageImport
import JSON

struct Import: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "import",
    abstract: "Import an image: an OCI layout (DIR or DIR:TAG), a docker save archive, a rootfs tarball or directory.",
    discussion: "The last line printed is the image digest, sha256:<hex>.")

  @OptionGroup var storeOptions: StoreOptions
  @Option(help: "Give the image this name.") var name: String?
  @Flag(help: "Print a JSON summary (files, bytes in, chunks new and reused, bytes stored, dedup ratio, seconds).")
  var json = false
  @Option(help: "zstd level for new chunks (1-19).") var level: Int32 = 3
  @Argument(help: "The image to import.") var source: String

  func run() throws {
    try guarded("import") {
      guard (1...19).contains(level) else { throw ValidationError("--level must be between 1 and 19") }
      let store = try storeOptions.open(create: true)
      var importer = Importer(store: store)
      importer.compressionLevel = level
      let tty = isatty(1) == 1
      if tty {
        importer.progress = { p in
          let rate = p.seconds > 0 ? Double(p.bytes) / p.seconds : 0
          printProgress("\(humanBytes(p.bytes)) in \(p.files) files, \(humanBytes(Int64(rate)))/s")
        }
      }
      let r = try importer.run(source: source, name: name)
      if tty { printProgress("") }
      let s = r.statistics
      if json {
        var summary = JSONObject()
        summary.append("digest", .string(r.digest.description))
        summary.append("kind", .string(r.kind))
        summary.append("layers", .int(r.layers))
        summary.append("files", .int(r.files))
        summary.append("bytesIn", .int(s.bytesIn))
        summary.append("bytesNew", .int(s.bytesNew))
        summary.append("bytesStored", .int(s.bytesStored))
        summary.append("chunksNew", .int(s.chunksNew))
        summary.append("chunksReused", .int(s.chunksReused))
        // Bytes in per new byte; null (not absent) when nothing was new.
        summary.append("dedupRatio", r.dedupRatio.isFinite ? .double(r.dedupRatio) : .null)
        summary.append("seconds", .double(r.seconds))
        summary.append("megabytesPerSecond", .double(r.seconds > 0 ? Double(s.bytesIn) / r.seconds / 1e6 : 0))
        printJSON(.object(summary))
      } else if tty {
        print(
          "imported \(r.kind) (\(r.layers) layer(s)): \(r.files) files, \(humanBytes(s.bytesIn)) in, "
            + "\(s.chunksNew) new and \(s.chunksReused) reused chunks, \(humanBytes(s.bytesStored)) stored")
      }
      print(r.digest)
    }
  }
}

/// Rewrites one status line on stderr (a terminal).
func printProgress(_ text: String) {
  let line = "\r\u{1b}[K" + text
  _ = line.withCString { write(2, $0, strlen($0)) }
}
