import Runtime

/// `kill [--all] ID [SIGNAL]`: SIGNAL as a name (TERM, SIGTERM) or a number; TERM by default.
enum KillCommand {
  static func run(_ arguments: inout Arguments, _ globals: Globals) throws -> Int32 {
    let (flags, positional) = try arguments.verb(valued: [], boolean: ["all", "a"])
    guard positional.count == 1 || positional.count == 2 else { throw UsageError("kill needs ID [SIGNAL]") }
    let signal = try Signals.parse(positional.count == 2 ? positional[1] : "TERM")
    try globals.runtime.kill(id: positional[0], signal: signal, all: flags.isSet("all", "a"))
    return 0
  }
}
