import Runtime

/// `exec [--tty] [--cwd DIR] [--env K=V]... [--user UID[:GID]] [--additional-gids GID]... [--cap CAP]...
/// [--no-new-privs] [--process FILE] [--detach] [--pid-file FILE] [--console-socket PATH] ID [COMMAND...]`: exits with the command's status
/// unless detached.
enum ExecCommand {
  static func run(_ arguments: inout Arguments, _ globals: Globals) throws -> Int32 {
    let (flags, multi, positional) = try arguments.verbUntilPositional(
      valued: [
        "cwd", "env", "e", "user", "u", "additional-gids", "g", "process", "p", "pid-file", "console-socket", "cap",
        "c",
      ],
      repeated: ["env", "e", "additional-gids", "g", "cap", "c"],
      boolean: ["tty", "t", "detach", "d", "no-new-privs"])
    guard let id = positional.first else { throw UsageError("exec needs a container id") }
    var options = ExecOptions()
    options.args = Array(positional.dropFirst())
    options.processFile = flags.value("process", "p")
    if options.processFile == nil && options.args.isEmpty { throw UsageError("exec needs a command after the id") }
    options.tty = flags.isSet("tty", "t")
    options.detach = flags.isSet("detach", "d")
    options.cwd = flags["cwd"]
    options.env = (multi["env"] ?? []) + (multi["e"] ?? [])
    for entry in options.env where !entry.contains("=") { throw UsageError("--env \"\(entry)\": use KEY=VALUE") }
    if let user = flags.value("user", "u") {
      let parts = user.split(separator: ":", omittingEmptySubsequences: false)
      guard parts.count <= 2, let uid = UInt32(parts[0]), parts.count == 1 || UInt32(parts[1]) != nil else {
        throw UsageError("--user \"\(user)\": use UID[:GID] (numbers)")
      }
      options.uid = uid
      options.gid = parts.count == 2 ? UInt32(parts[1]) : nil
    }
    for gid in (multi["additional-gids"] ?? []) + (multi["g"] ?? []) {
      guard let number = UInt32(gid) else { throw UsageError("--additional-gids \"\(gid)\": not a number") }
      options.additionalGids.append(number)
    }
    options.addedCapabilities = (multi["cap"] ?? []) + (multi["c"] ?? [])
    options.noNewPrivileges = flags.isSet("no-new-privs")
    options.pidFile = flags["pid-file"]
    options.consoleSocket = flags["console-socket"]
    return try globals.runtime.exec(id: id, options)
  }
}
