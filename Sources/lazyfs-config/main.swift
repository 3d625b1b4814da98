import Glibc
import LinuxSystem
import NodeConfigFile
import StoreCatalog

// lazyfs-config FILE: reads the node configuration FILE and prints its values as one line of JSON, or
// `FILE: what is wrong` on stderr and exit status 1. lazyfs and crun-fast run it when the file has changed
// (see `NodeConfig`); it is the one program that parses TOML.
func printError(_ line: String) {
  let text = Array((line + "\n").utf8)
  _ = text.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}

let arguments = CommandLine.arguments
guard arguments.count == 2 else {
  printError("usage: lazyfs-config FILE")
  exit(2)
}
let file = arguments[1]
do {
  let bytes: [UInt8]
  do { bytes = try Files.read(file) } catch { throw NodeConfigError(file: file, message: "\(error)") }
  guard let text = String(validating: bytes, as: UTF8.self) else {
    throw NodeConfigError(file: file, message: "not UTF-8 text")
  }
  let config = try NodeConfigFile.parse(text, file: file)
  print(String(decoding: config.json.encoded(), as: UTF8.self))
} catch {
  printError("\(error)")
  exit(1)
}
