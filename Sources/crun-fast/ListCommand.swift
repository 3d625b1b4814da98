import Runtime

/// `list [--format table|json] [--quiet]`: runc's columns, or a JSON array.
enum ListCommand {
  static func run(_ arguments: inout Arguments, _ globals: Globals) throws -> Int32 {
    let (flags, positional) = try arguments.verb(valued: ["format", "f"], boolean: ["quiet", "q"])
    guard positional.isEmpty else { throw UsageError("list takes no arguments") }
    let states = globals.runtime.list()
    if flags.isSet("quiet", "q") {
      Output.write(1, states.map { $0.id + "\n" }.joined())
      return 0
    }
    switch flags.value("format", "f") ?? "table" {
    case "json": Output.write(1, OCIState.json(states) + "\n")
    case "table":
      let rows =
        [["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]]
        + states.map {
          [$0.id, "\($0.pid)", $0.status.rawValue, $0.bundle, $0.created, $0.owner.isEmpty ? "root" : $0.owner]
        }
      let widths = (0..<6).map { column in rows.map { $0[column].count }.max() ?? 0 }
      for row in rows {
        let cells = row.enumerated().map { i, cell in
          i == 5 ? cell : cell + String(repeating: " ", count: widths[i] - cell.count + 3)
        }
        Output.write(1, cells.joined() + "\n")
      }
    case let other: throw UsageError("unknown format \"\(other)\": use table or json")
    }
    return 0
  }
}
