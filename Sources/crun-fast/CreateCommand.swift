import Runtime

/// `create [--bundle DIR] [--pid-file FILE] ID`
enum CreateCommand {
  static func run(_ arguments: inout Arguments, _ globals: Globals) throws -> Int32 {
    let (flags, positional) = try arguments.verb(
      valued: ["bundle", "b", "pid-file", "console-socket"], boolean: ["no-pivot", "no-new-keyring"])
    let id = try containerID(positional, verb: "create")
    try globals.runtime.create(
      id: id, bundle: flags.value("bundle", "b") ?? ".", pidFile: flags["pid-file"],
      consoleSocket: flags["console-socket"])
    return 0
  }
}
