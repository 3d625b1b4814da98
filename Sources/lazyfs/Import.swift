import ArgumentParser
import ChunkStore
import Glibc
import ImageImport

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

  struct Summary: Encodable {
    var digest: String
    var kind: String
    var layers: Int
    var files: Int
    var bytesIn: Int64
    var bytesNew: Int64
    var bytesStored: Int64
    var chunksNew: Int
    var chunksReused: Int
    /// Bytes in per new byte; null when nothing was new (all of it was already in the store).
    var dedupRatio: Double?
    var seconds: Double
    var megabytesPerSecond: Double

    enum Keys: String, CodingKey {
      case digest, kind, layers, files, bytesIn, bytesNew, bytesStored, chunksNew, chunksReused, dedupRatio, seconds
      case megabytesPerSecond
    }

    func encode(to encoder: Encoder) throws {
      var c = encoder.container(keyedBy: Keys.self)
      try c.encode(digest, forKey: .digest)
      try c.encode(kind, forKey: .kind)
      try c.encode(layers, forKey: .layers)
      try c.encode(files, forKey: .files)
      try c.encode(bytesIn, forKey: .bytesIn)
      try c.encode(bytesNew, forKey: .bytesNew)
      try c.encode(bytesStored, forKey: .bytesStored)
      try c.encode(chunksNew, forKey: .chunksNew)
      try c.encode(chunksReused, forKey: .chunksReused)
      try c.encode(dedupRatio, forKey: .dedupRatio)  // null, not absent
      try c.encode(seconds, forKey: .seconds)
      try c.encode(megabytesPerSecond, forKey: .megabytesPerSecond)
    }
  }

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
        try printJSON(
          Summary(
            digest: r.digest.description, kind: r.kind, layers: r.layers, files: r.files, bytesIn: s.bytesIn,
            bytesNew: s.bytesNew, bytesStored: s.bytesStored, chunksNew: s.chunksNew, chunksReused: s.chunksReused,
            dedupRatio: r.dedupRatio.isFinite ? r.dedupRatio : nil, seconds: r.seconds,
            megabytesPerSecond: r.seconds > 0 ? Double(s.bytesIn) / r.seconds / 1e6 : 0))
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
