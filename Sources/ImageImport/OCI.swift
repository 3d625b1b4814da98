import Codecs
import Glibc
import JSON
import LinuxSystem

/// The parts of the OCI image spec (and Docker's manifest.json) an importer reads, mapped by hand from
/// `JSONValue` (the JSON module config.json is read with): members not named here are ignored, and a
/// missing or mistyped one is named by its path (`manifests[0].digest`).
enum OCI {
  struct Descriptor {
    var mediaType: String?
    var digest: String
    var size: Int64
    var annotations: [String: String]?
    var platform: Platform?

    init(json: JSONValue, path: String) throws(JSONFieldError) {
      let f = try JSONFields(json, path: path)
      mediaType = try f.string(ifPresent: "mediaType")
      digest = try f.string("digest")
      size = try f.int64("size")
      annotations = try f.stringMap(ifPresent: "annotations")
      platform = try f.nested(ifPresent: "platform", Platform.init(json:path:))
    }
  }
  struct Platform {
    var architecture: String
    var os: String

    init(json: JSONValue, path: String) throws(JSONFieldError) {
      let f = try JSONFields(json, path: path)
      architecture = try f.string("architecture")
      os = try f.string("os")
    }
  }
  struct Index {
    var manifests: [Descriptor]

    init(json: JSONValue, path: String) throws(JSONFieldError) {
      let f = try JSONFields(json, path: path)
      _ = try f.int32("schemaVersion")
      manifests = try f.array("manifests", Descriptor.init(json:path:))
    }
  }
  struct Manifest {
    var config: Descriptor
    var layers: [Descriptor]

    init(json: JSONValue, path: String) throws(JSONFieldError) {
      let f = try JSONFields(json, path: path)
      _ = try f.int32("schemaVersion")
      config = try f.nested("config", Descriptor.init(json:path:))
      layers = try f.array("layers", Descriptor.init(json:path:))
    }
  }
  /// An image configuration: only the layers' uncompressed digests.
  struct Config {
    var diffIDs: [String]?

    init(json: JSONValue, path: String) throws(JSONFieldError) {
      let f = try JSONFields(json, path: path)
      diffIDs =
        try f.nested(ifPresent: "rootfs") { value, path throws(JSONFieldError) in
          try JSONFields(value, path: path).strings(ifPresent: "diff_ids")
        } ?? nil
    }
  }
  /// One image of a `docker save` archive.
  struct DockerManifest {
    var config: String
    var layers: [String]

    init(json: JSONValue, path: String) throws(JSONFieldError) {
      let f = try JSONFields(json, path: path)
      config = try f.string("Config")
      layers = try f.strings("Layers")
      _ = try f.strings(ifPresent: "RepoTags")
    }
  }
  /// A `docker save` archive's manifest.json: one entry per image.
  struct DockerManifests {
    var images: [DockerManifest]

    init(json: JSONValue, path: String) throws(JSONFieldError) {
      images = try json.array(at: path).enumerated().map { i, item throws(JSONFieldError) in
        try DockerManifest(json: item, path: "[\(i)]")
      }
    }
  }

  static let indexTypes: Set = [
    "application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json",
  ]

  /// Parses `bytes` and maps them with `make`; an error names `what` and the field at fault.
  static func decode<T>(_ make: (JSONValue, String) throws(JSONFieldError) -> T, _ bytes: [UInt8], what: String)
    throws -> T
  {
    let json: JSONValue
    do {
      json = try JSONValue(parsing: bytes)
    } catch {
      throw ImportError("\(what): malformed JSON (not valid JSON: \(error))")
    }
    do {
      return try make(json, "")
    } catch {
      throw ImportError("\(what): malformed JSON (\(error.field.isEmpty ? "" : "\(error.field): ")\(error.reason))")
    }
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
    let index = try OCI.decode(
      OCI.Index.init(json:path:), try Files.read(path + "/index.json"), what: "\(path)/index.json")
    var candidates = index.manifests
    // A nested index (a multi-platform image) is opened in place.
    var depth = 0
    while let nested = candidates.first(where: { OCI.indexTypes.contains($0.mediaType ?? "") }), depth < 4 {
      let inner = try OCI.decode(
        OCI.Index.init(json:path:), try readBlob(nested, what: "index"), what: "index \(nested.digest)")
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
      OCI.Manifest.init(json:path:), try readBlob(forHere[0], what: "manifest"), what: "manifest \(forHere[0].digest)")
    let config = try readBlob(manifest.config, what: "config")
    return (manifest, config)
  }
}
