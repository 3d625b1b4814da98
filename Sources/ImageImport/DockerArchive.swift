import Archive
import Codecs
import Glibc
import LinuxSystem

/// A `docker save` archive: an uncompressed tar holding `manifest.json`, the image config and one tar per
/// layer (classic `ID/layer.tar`, or `blobs/sha256/…` since Docker 25). Members are read in place, by offset.
struct DockerArchive {
  struct Layer {
    var path: String
    var offset: Int64
    var size: Int64
    var diffID: Digest?
  }
  let file: String
  let layers: [Layer]
  let config: [UInt8]

  /// Names a first member may have in an archive that `docker save` or `skopeo` wrote.
  private static func looksLikeDockerMember(_ path: String) -> Bool {
    let first = path.split(separator: "/").first.map(String.init) ?? ""
    if ["manifest.json", "repositories", "blobs", "oci-layout", "index.json"].contains(first) { return true }
    let stem =
      first.hasSuffix(".json") ? String(first.dropLast(5)) : first.hasSuffix(".tar") ? String(first.dropLast(4)) : first
    return stem.utf8.count == 64 && stem.allSatisfy(\.isHexDigit)
  }

  /// Reads the member list of `path` if it is a docker archive, or returns nil if it is some other file.
  static func open(_ path: String) throws -> DockerArchive? {
    let head = try FileStream(path: path)
    var magic = [UInt8](repeating: 0, count: 4)
    let n = try magic.withUnsafeMutableBytes { try head.readFully(into: $0) }
    guard Compression.detect(Array(magic[0..<n])) == .none else { return nil }
    let reader = TarReader(try FileStream(path: path))
    guard let first = try? reader.next(), looksLikeDockerMember(first.path) else { return nil }
    var members: [String: (offset: Int64, size: Int64)] = [:]
    var header: TarHeader? = first
    while let h = header {
      let normalized = try TarPath.normalize(h.path, entry: h.path)
      if h.type == .regular { members[normalized] = (reader.position, h.size) }
      header = try reader.next()
    }
    guard let manifestMember = members["manifest.json"] else { return nil }
    func read(_ name: String) throws -> [UInt8] {
      guard let m = members[try TarPath.normalize(name, entry: name)] else {
        throw ImportError("missing blob \"\(name)\" (named by manifest.json)")
      }
      guard m.size <= 64 << 20 else { throw ImportError("\"\(name)\" is too large for JSON (\(m.size) bytes)") }
      let fd = try FileDescriptor.open(path, O_RDONLY)
      var bytes = [UInt8](repeating: 0, count: Int(m.size))
      _ = try bytes.withUnsafeMutableBytes { try fd.pread(into: $0, at: m.offset) }
      return bytes
    }
    let manifests = try OCI.decode(
      OCI.DockerManifests.init(json:path:), try read("manifest.json"), what: "manifest.json"
    )
    .images
    guard manifests.count == 1 else {
      throw ImportError("manifest.json lists \(manifests.count) images; import an archive of exactly one")
    }
    _ = manifestMember
    let config = try read(manifests[0].config)
    let diffIDs = try OCI.decode(OCI.Config.init(json:path:), config, what: manifests[0].config).diffIDs ?? []
    var layers: [Layer] = []
    for (k, name) in manifests[0].layers.enumerated() {
      guard let m = members[try TarPath.normalize(name, entry: name)] else {
        throw ImportError("missing blob \"\(name)\" (layer \(k + 1) in manifest.json)")
      }
      let diffID = k < diffIDs.count ? try OCI.blobDigest(diffIDs[k]) : nil
      layers.append(Layer(path: name, offset: m.offset, size: m.size, diffID: diffID))
    }
    return DockerArchive(file: path, layers: layers, config: config)
  }

  func stream(_ layer: Layer) throws -> ByteStream {
    try SliceStream(fd: try FileDescriptor.open(file, O_RDONLY), offset: layer.offset, size: layer.size)
  }
}

/// A byte range of a file, read with pread: one member of an uncompressed archive.
final class SliceStream: ByteStream {
  private let fd: FileDescriptor
  private var offset: Int64
  private var remaining: Int64

  init(fd: consuming FileDescriptor, offset: Int64, size: Int64) throws {
    self.fd = fd
    self.offset = offset
    self.remaining = size
  }

  func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
    let want = Int(min(Int64(buffer.count), remaining))
    if want == 0 { return 0 }
    let n = try fd.pread(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<want]), at: offset)
    if n == 0 { throw ImportError("archive truncated inside a layer") }
    offset += Int64(n)
    remaining -= Int64(n)
    return n
  }
}
