import CSeccomp
import Glibc
import Hashing
import LinuxSystem
import OCISpec

/// Compiled programs kept as `<directory>/<sha256>.bpf`, keyed by the profile (as JSON)
/// and libseccomp's version: compiling a large profile costs milliseconds, reading the file microseconds.
public struct SeccompCache: Sendable {
  public let directory: String

  public init(directory: String) { self.directory = directory }

  /// The program for `profile`, from the cache when present, else compiled and stored. A cache that cannot
  /// be written is not an error: the program is still returned.
  public func program(for profile: Spec.Seccomp) throws(SeccompError) -> [UInt8] {
    let path = "\(directory)/\(Self.key(for: profile)).bpf"
    if let bytes = try? Files.read(path), !bytes.isEmpty, bytes.count % 8 == 0 { return bytes }
    let bytes = try SeccompCompiler.compile(profile)
    if (try? Files.makeDirectories(directory, mode: 0o700)) != nil {
      try? Files.writeAtomically(path, bytes, mode: 0o600)
    }
    return bytes
  }

  /// Hex SHA-256 of the profile's JSON (every field, in a fixed order) and the libseccomp version. The
  /// JSON is written by hand (`Spec.Seccomp.json`): JSONEncoder cost 0.5 ms of every start with a profile.
  public static func key(for profile: Spec.Seccomp) -> String {
    var hash = SHA256()
    hash.update(profile.json.encoded())
    if let version = seccomp_version() {
      hash.update(Array("\(version.pointee.major).\(version.pointee.minor).\(version.pointee.micro)".utf8))
    }
    return hash.finish()
  }
}
