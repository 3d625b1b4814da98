import Codecs
import Glibc
import ImageIndex
import LinuxSystem

/// Where profiles live and how a new run joins the one already kept.
///
/// In a store, an image's profile is `ROOT/profiles/HEX` (HEX: the image digest), beside its index, and
/// `lazyfs publish` ships it as `profiles/HEX` of the published store. There is one profile per image:
/// every recorded run is merged into it (`Profile.merged`), so nothing one run read is lost.
public enum ProfileStore {
  /// The profile file of `image` in the store at `root`.
  public static func path(store root: String, image: Digest) -> String { "\(root)/profiles/\(image.hex)" }

  /// The profile at `path`, checked and tied to `image`; nil when there is none.
  public static func load(_ path: String, image: Digest) throws(ProfileFileError) -> Profile? {
    let bytes: [UInt8]
    do { bytes = try Files.read(path) } catch {
      if (error as? SystemError)?.errno == .ENOENT { return nil }
      throw ProfileFileError(path: path, reason: .unreadable("\(error)"))
    }
    do { return try Profile(decoding: bytes, for: image) } catch {
      throw ProfileFileError(path: path, reason: error)
    }
  }

  /// Merges `run` into the profile at `path` (a damaged one there is replaced, not merged) and writes the
  /// result atomically. Returns what was written.
  @discardableResult
  public static func add(_ run: Profile, at path: String) throws -> Profile {
    var merged = run
    if let kept = try? load(path, image: run.image), let both = try? kept.merged(with: run) { merged = both }
    try Files.makeDirectories(Files.dirname(of: path))
    try Files.writeAtomically(path, merged.encoded)
    return merged
  }
}

/// A profile file that cannot be used, and why.
public struct ProfileFileError: Error, CustomStringConvertible, Sendable {
  public enum Reason: Sendable, Equatable {
    case unreadable(String)
    case profile(ProfileError)
  }
  public let path: String
  public let reason: Reason
  init(path: String, reason: ProfileError) { self.init(path: path, reason: .profile(reason)) }
  public init(path: String, reason: Reason) {
    self.path = path
    self.reason = reason
  }
  public var description: String {
    switch reason {
    case .unreadable(let why): "profile \(path): \(why)"
    case .profile(let e): "profile \(path): \(e)"
    }
  }
}

extension Profile {
  /// Checks every record against the image's index: each extent must exist and belong to the file the
  /// record names. A profile that passes `init(decoding:for:)` was written for this image, so a record
  /// that does not fit means a bug or tampering; the whole profile is refused rather than replayed in part.
  public func check(against index: ImageIndex) throws(ProfileError) {
    for (i, r) in records.enumerated() {
      let entry = Int(r.entry)
      guard entry < index.count, index.extents(entry).contains(Int(r.extent)) else {
        throw .doesNotFit("record \(i) names extent \(r.extent) of entry \(r.entry), which has no such extent")
      }
    }
  }
}
