// crun-fast: an OCI runtime with runc's command line. This file only dispatches; each verb is in its own
// file and the work is in the Runtime module.
import Glibc
import LinuxSystem
import Runtime

// `--version` is answered before anything else is touched, so that it costs only process start-up.
if CommandLine.arguments.count == 2, CommandLine.arguments[1] == "--version" || CommandLine.arguments[1] == "-v" {
  Output.write(1, "crun-fast version \(Version.number)\nspec: \(Version.spec)\n")
  exit(0)
}

Timeline.begin()
var arguments = Arguments(Array(CommandLine.arguments.dropFirst()))
var globals = Globals()
do {
  globals = try Globals.parse(&arguments)
  guard let verb = arguments.next() else {
    Output.write(1, Usage.text)
    exit(0)
  }
  globals.verb = verb
  let status = try dispatch(verb, &arguments, globals)
  Timeline.flush(verb)
  exit(status)
} catch {
  Output.fail(globals, error)
}

func dispatch(_ verb: String, _ arguments: inout Arguments, _ globals: Globals) throws -> Int32 {
  switch verb {
  case "spec": return try SpecCommand.run(&arguments, globals)
  case "create": return try CreateCommand.run(&arguments, globals)
  case "start": return try StartCommand.run(&arguments, globals)
  case "run": return try RunCommand.run(&arguments, globals)
  case "state": return try StateCommand.run(&arguments, globals)
  case "list": return try ListCommand.run(&arguments, globals)
  case "kill": return try KillCommand.run(&arguments, globals)
  case "delete": return try DeleteCommand.run(&arguments, globals)
  case "exec": return try ExecCommand.run(&arguments, globals)
  case "help", "--help", "-h":
    Output.write(1, Usage.text)
    return 0
  default: throw UsageError("unknown command \"\(verb)\"; see crun-fast --help")
  }
}
