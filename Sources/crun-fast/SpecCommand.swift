import Glibc
import LinuxSystem
import OCISpec

/// `spec [--bundle DIR]`: writes runc's default config.json (see `Spec.defaultJSON`); refuses to
/// overwrite one.
enum SpecCommand {
  static func run(_ arguments: inout Arguments, _ globals: Globals) throws -> Int32 {
    let (flags, positional) = try arguments.verb(valued: ["bundle", "b"], boolean: [])
    guard positional.isEmpty else { throw UsageError("spec takes no arguments") }
    let path = (flags.value("bundle", "b") ?? ".") + "/config.json"
    guard !Files.exists(path) else { throw UsageError("\(path) exists; remove it first") }
    try Files.writeAtomically(path, Array(Spec.defaultJSON.utf8) + [10], mode: 0o644)
    return 0
  }
}
