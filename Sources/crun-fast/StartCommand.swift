import Runtime

/// `start ID`
enum StartCommand {
  static func run(_ arguments: inout Arguments, _ globals: Globals) throws -> Int32 {
    let (_, positional) = try arguments.verb(valued: [], boolean: [])
    try globals.runtime.start(id: try containerID(positional, verb: "start"))
    return 0
  }
}
