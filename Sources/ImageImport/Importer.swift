import Archive
import ChunkStore
import Codecs
import Glibc
import ImageIndex
import LinuxSystem
import StoreCatalog

/// What an import did.
public struct ImportResult: Sendable {
  public var digest: Digest
  public var kind: String
  public var layers: Int
  public var files: Int
  public var statistics: WriteStatistics
  public var seconds: Double

  /// File bytes per byte of new, distinct content: 1 when nothing was shared.
  public var dedupRatio: Double {
    statistics.bytesNew == 0
      ? Double(statistics.bytesIn > 0 ? Double.infinity : 1) : Double(statistics.bytesIn) / Double(statistics.bytesNew)
  }
}

/// Progress, reported from the importing thread every few hundred milliseconds.
public struct ImportProgress: Sendable {
  public var bytes: Int64
  public var files: Int
  public var seconds: Double
}

/// Imports an image into a store: an OCI image layout (`DIR` or `DIR:TAG`), a `docker save` archive, a rootfs
/// tarball (.tar, .tar.gz, .tar.zst, detected by content) or a rootfs directory.
///
/// Either the whole image lands (packs committed, then its index, then its name) or nothing visible does: a
/// failure or a kill leaves at most unreferenced packs, which `verify` accepts and `gc` removes.
public struct Importer {
  public let store: ChunkStore
  public var compressionLevel: Int32 = 3
  public var progress: (@Sendable (ImportProgress) -> Void)?

  public init(store: ChunkStore) { self.store = store }

  public func run(source: String, name: String? = nil) throws -> ImportResult {
    if let name, ImageName(name) == nil { throw CatalogError.invalidName(name) }
    let start = Self.now()
    let writer = try StoreWriter(store: store, level: compressionLevel)
    var closed = false
    defer { if !closed { writer.abort() } }
    let flattener = Flattener(writer: writer)
    let counter = ProgressCounter(start: start, progress: progress)
    let (kind, layers, config) = try feed(source, into: flattener, counter: counter)
    let (files, statistics) = try writer.commit()
    flattener.finish(files)
    let index = IndexBuilder.build(root: flattener.root, config: config)
    let digest = try store.putIndex(index)
    if let name { try store.setName(name, to: digest) }
    writer.close()
    closed = true
    return ImportResult(
      digest: digest, kind: kind, layers: layers, files: flattener.fileCount, statistics: statistics,
      seconds: Self.now() - start)
  }

  /// Reads the source's layers into the flattener; returns its kind, layer count and image config.
  private func feed(_ source: String, into flattener: Flattener, counter: ProgressCounter) throws -> (
    String, Int, [UInt8]
  ) {
    var layoutPath = source
    var reference: String?
    if !Files.exists(source), let colon = source.lastIndex(of: ":"), OCILayout.isLayout(String(source[..<colon])) {
      layoutPath = String(source[..<colon])
      reference = String(source[source.index(after: colon)...])
    }
    if OCILayout.isLayout(layoutPath) {
      let layout = OCILayout(path: layoutPath, reference: reference)
      let (manifest, config) = try layout.manifest()
      let diffIDs = try OCI.decode(OCI.Config.init(json:path:), config, what: "config").diffIDs ?? []
      for (k, layer) in manifest.layers.enumerated() {
        let what = "layer \(k + 1)/\(manifest.layers.count) \(layer.digest)"
        try ImportError.wrap(what) {
          let digest = try OCI.blobDigest(layer.digest)
          guard Files.exists(layout.blobPath(digest)) else { throw ImportError("missing blob") }
          let diffID = k < diffIDs.count ? try OCI.blobDigest(diffIDs[k]) : nil
          let blob = try FileStream(path: layout.blobPath(digest))
          // The image spec has a blob refused when its size is not the descriptor's, digest right or not.
          let size = try blob.fd.size()
          guard size == layer.size else {
            throw ImportError("size mismatch (the blob has \(size) bytes, its descriptor says \(layer.size))")
          }
          try applyLayer(blob, digest: digest, diffID: diffID, flattener, counter)
        }
      }
      return ("oci", manifest.layers.count, config)
    }
    var st = stat()
    guard stat(source, &st) == 0 else { throw ImportError(source, cause: SystemError("stat", path: source)) }
    if (st.st_mode & S_IFMT) == S_IFDIR {
      try ImportError.wrap(source) {
        try DirectorySource(root: source).walk { header, content in
          counter.file()
          try flattener.add(header, whiteouts: false) { counter.counted(try content($0)) }
        }
      }
      return ("directory", 1, [])
    }
    if let docker = try ImportError.wrap(source, { try DockerArchive.open(source) }) {
      for (k, layer) in docker.layers.enumerated() {
        try ImportError.wrap("\(source): layer \(k + 1)/\(docker.layers.count) \(layer.path)") {
          try applyLayer(docker.stream(layer), digest: nil, diffID: layer.diffID, flattener, counter)
        }
      }
      return ("docker-archive", docker.layers.count, docker.config)
    }
    try ImportError.wrap(source) {
      try applyLayer(try FileStream(path: source), digest: nil, diffID: nil, flattener, counter, whiteouts: false)
    }
    return ("tarball", 1, [])
  }

  /// Streams one layer: check the blob's digest and the uncompressed tar's diff ID as the bytes pass, apply it.
  private func applyLayer(
    _ blob: ByteStream, digest: Digest?, diffID: Digest?, _ flattener: Flattener, _ counter: ProgressCounter,
    whiteouts: Bool = true
  ) throws {
    // Hash only what is checked; an uncompressed layer's blob digest is its diff_id, hashed once.
    let raw = digest.map { _ in DigestingStream(blob) }
    let (layer, compression) = try Compression.detecting(raw ?? blob)
    let checkDiffID = diffID != nil && !(compression == .none && diffID == digest)
    let tar = checkDiffID ? DigestingStream(layer) : nil
    let reader = TarReader(tar ?? layer)
    flattener.beginLayer()
    var first = true
    while true {
      guard let header = try reader.next() else {
        // A tar ends with zero blocks; zero bytes is no archive at all.
        if first && reader.position == 0 { throw ImportError("not a tar archive (no data)") }
        break
      }
      first = false
      counter.file()
      try flattener.add(header, whiteouts: whiteouts) { counter.counted(try reader.read(into: $0)) }
    }
    // The rest: tar padding, and the compressed stream's end (where trailing garbage is caught).
    try (tar ?? layer).drain()
    try (raw ?? blob).drain()
    if let digest, let got = raw?.finalize(), got != digest {
      throw ImportError("digest mismatch: the blob's content hashes to \(got)")
    }
    if let diffID, let got = tar?.finalize(), got != diffID {
      throw ImportError("diff_id mismatch: the uncompressed layer hashes to \(got), the config says \(diffID)")
    }
  }

  static func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
  }
}

/// Counts file bytes as they are read and calls the progress handler now and then.
final class ProgressCounter {
  private let start: Double
  private let progress: (@Sendable (ImportProgress) -> Void)?
  private var bytes: Int64 = 0
  private var files = 0
  private var last = 0.0

  init(start: Double, progress: (@Sendable (ImportProgress) -> Void)?) {
    self.start = start
    self.progress = progress
  }

  /// Wraps a content reader so the bytes it yields are counted.
  func counted(_ n: Int) -> Int {
    bytes += Int64(n)
    if let progress {
      let t = Importer.now()
      if t - last > 0.25 {
        last = t
        progress(ImportProgress(bytes: bytes, files: files, seconds: t - start))
      }
    }
    return n
  }

  func file() { files += 1 }
}
