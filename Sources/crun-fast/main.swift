// crun-fast: an OCI runtime. The verbs arrive with a later issue; until then it says so plainly.
#if canImport(Glibc)
  import Glibc
#endif

let version = "0.1.0"
let args = CommandLine.arguments.dropFirst()
if args.first == "--version" || args.first == "-v" {
  print("crun-fast version \(version)\nspec: 1.2.0")
  exit(0)
}
let verb = args.first ?? "(none)"
let message = "crun-fast: '\(verb)' is not implemented yet\n"
_ = message.withCString { write(2, $0, strlen($0)) }
exit(2)
