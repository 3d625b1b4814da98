import Runtime

/// `run [--bundle DIR] [--pid-file FILE] [--detach] ID`: exits with the container's status unless detached.
enum RunCommand {
  static func run(_ arguments: inout Arguments, _ globals: Globals) throws -> Int32 {
    let (flags, positional) = try arguments.verb(
      valued: ["bundle", "b", "pid-file", "console-socket"], boolean: ["detach", "d", "no-pivot", "no-new-keyring"])
    let id = try containerID(positional, verb: "run")
    return try globals.runtime.run(
      id: id, bundle: flags.value("bundle", "b") ?? ".", pidFile: flags["pid-file"],
      detach: flags.isSet("detach", "d"), consoleSocket: flags["console-socket"])
  }
}
