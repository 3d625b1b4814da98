import Codecs
import FoundationEssentials
import Glibc
import LinuxSystem

/// The parts of the OCI image spec (and Docker's manifest.json) an importer reads.
enum OCI {
  struct Descriptor: Decodable {
    var mediaType: String?
    var digest: String
    var size: Int64
    var annotations: [String: String]?
    var platform: Platform?
  }
  struct Platform: Decodable {
    var architecture: String
    var os: String
  }
  struct Index: Decodable {
    var schemaVersion: Int
    var manifests: [Descriptor]
  }
  struct Manifest: Decodable {
    var schemaVersion: Int
    var config: Descriptor
    var layers: [Descriptor]
  }
  struct Config: Decodable {
    struct RootFS: Decodable {
      var diff_ids: [String]?
    }
    var rootfs: RootFS?
  }
  /// One image of a `docker save` archive.
  struct DockerManifest: Decodable {
    var Config: String
    var RepoTags: [String]?
    var Layers: [String]
  }

  static let indexTypes: Set = [
    "application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json",
  ]

  static func decode<T: Decodable>(_ type: T.Type, _ bytes: [UInt8], what: String) throws -> T {
    do { return try JSONDecoder().decode(T.self, from: Data(bytes)) } catch {
      throw ImportError("\(what): malformed JSON (\(describe(error)))")
    }
  }

  /// A short account of a decoding error: which key, what was wrong.
  static func describe(_ error: any Error) -> String {
    switch error {
    case DecodingError.keyNotFound(let key, _): "missing key \"\(key.stringValue)\""
    case DecodingError.typeMismatch(_, let c): "wrong type at \(path(c))"
    case DecodingError.valueNotFound(_, let c): "null at \(path(c))"
    case DecodingError.dataCorrupted(let c): c.codingPath.isEmpty ? "not valid JSON" : "bad value at \(path(c))"
    default: "\(error)"
    }
  }

  private static func path(_ c: DecodingError.Context) -> String {
    c.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
  }

  /// A digest as a blob's file name. Only sha256 with 64 hex digits: anything else could name a path
  /// outside blobs/ (`sha256:../../etc/passwd`).
  static func blobDigest(_ text: String) throws -> Digest {
    guard text.hasPrefix("sha256:"), let d = Digest(hex: text),
      text.dropFirst(7).allSatisfy({ $0.isHexDigit && !$0.isUppercase })
    else {
      throw ImportError("unsupported or malformed digest \"\(text.prefix(80))\" (only sha256:<64 hex> is accepted)")
    }
    return d
  }
}

/// An OCI image layout directory: `oci-layout`, `index.json`, `blobs/sha256/…`.
struct OCILayout {
  let path: String
  let reference: String?

  static func isLayout(_ path: String) -> Bool { Files.exists(path + "/oci-layout") }

  func blobPath(_ d: Digest) -> String { "\(path)/blobs/sha256/\(d.hex)" }

  /// A small JSON blob, read whole and checked against its digest and size.
  func readBlob(_ descriptor: OCI.Descriptor, what: String) throws -> [UInt8] {
    let d = try OCI.blobDigest(descriptor.digest)
    guard Files.exists(blobPath(d)) else { throw ImportError("\(what) \(descriptor.digest): missing blob") }
    guard descriptor.size >= 0 && descriptor.size <= 64 << 20 else {
      throw ImportError("\(what) \(d): size \(descriptor.size) out of range")
    }
    let bytes = try Files.read(blobPath(d))
    guard Digest.of(bytes) == d else {
      throw ImportError("\(what) \(descriptor.digest): digest mismatch (blob content has \(Digest.of(bytes)))")
    }
    guard bytes.count == descriptor.size else {
      throw ImportError("\(what) \(d): size mismatch (\(bytes.count), descriptor says \(descriptor.size))")
    }
    return bytes
  }

  /// The manifest to import: the one the reference names, else the only one (for this platform).
  func manifest() throws -> (manifest: OCI.Manifest, config: [UInt8]) {
    let layoutText = String(decoding: try Files.read(path + "/oci-layout"), as: UTF8.self)
    guard layoutText.contains("\"imageLayoutVersion\"") else {
      throw ImportError("\(path)/oci-layout: not an OCI layout marker")
    }
    let index = try OCI.decode(OCI.Index.self, try Files.read(path + "/index.json"), what: "\(path)/index.json")
    var candidates = index.manifests
    // A nested index (a multi-platform image) is opened in place.
    var depth = 0
    while let nested = candidates.first(where: { OCI.indexTypes.contains($0.mediaType ?? "") }), depth < 4 {
      let inner = try OCI.decode(OCI.Index.self, try readBlob(nested, what: "index"), what: "index \(nested.digest)")
      candidates.removeAll { $0.digest == nested.digest }
      candidates += inner.manifests
      depth += 1
    }
    if let reference {
      candidates = candidates.filter { $0.annotations?["org.opencontainers.image.ref.name"] == reference }
      if candidates.isEmpty { throw ImportError("\(path): no manifest is tagged \"\(reference)\"") }
    }
    let forHere = candidates.filter {
      $0.platform == nil || ($0.platform!.os == "linux" && $0.platform!.architecture == "amd64")
    }
    if forHere.count != 1 {
      throw ImportError(
        forHere.isEmpty
          ? "\(path): no image manifest for linux/amd64"
          : "\(path): \(forHere.count) manifests; name one with \(path):TAG")
    }
    let manifest = try OCI.decode(
      OCI.Manifest.self, try readBlob(forHere[0], what: "manifest"), what: "manifest \(forHere[0].digest)")
    let config = try readBlob(manifest.config, what: "config")
    return (manifest, config)
  }
}
