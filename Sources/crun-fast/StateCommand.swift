import Runtime

/// `state ID`: the OCI state as JSON on stdout.
enum StateCommand {
  static func run(_ arguments: inout Arguments, _ globals: Globals) throws -> Int32 {
    let (_, positional) = try arguments.verb(valued: [], boolean: [])
    let state = try globals.runtime.state(id: try containerID(positional, verb: "state"))
    Output.write(1, state.json() + "\n")
    return 0
  }
}
