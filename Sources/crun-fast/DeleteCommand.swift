import Runtime

/// `delete [--force] ID`
enum DeleteCommand {
  static func run(_ arguments: inout Arguments, _ globals: Globals) throws -> Int32 {
    let (flags, positional) = try arguments.verb(valued: [], boolean: ["force", "f"])
    try globals.runtime.delete(
      id: try containerID(positional, verb: "delete"), force: flags.isSet("force", "f"))
    return 0
  }
}
