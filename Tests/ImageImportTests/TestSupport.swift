import Codecs
import Foundation
import Glibc
import LinuxSystem
import Testing

/// Where the fixtures are (`make fixtures` builds them), and whether one is there.
enum Fixture {
  static let root = ProcessInfo.processInfo.environment["LAZYFS_FIXTURES"] ?? "/var/cache/lazyfs-fixtures"
  static func path(_ relative: String) -> String { "\(root)/\(relative)" }
  static func available(_ name: String) -> Bool { Files.exists("\(root)/\(name)/.done") }
}

/// The `lazyfs` binary under test: `$LAZYFS_BIN/lazyfs` (set by `make test`), else the release build.
let lazyfsBinary: String = {
  let env = ProcessInfo.processInfo.environment
  let dir = env["LAZYFS_BIN"] ?? FileManager.default.currentDirectoryPath + "/.build/release"
  return dir + "/lazyfs"
}()

struct RunResult {
  var status: Int32
  var stdout: String
  var stderr: String
  var lastLine: String { stdout.split(separator: "\n").last.map(String.init) ?? "" }
}

/// Runs a program to completion, capturing its output.
@discardableResult
func run(_ program: String, _ arguments: [String], cwd: String? = nil) throws -> RunResult {
  let p = Process()
  p.executableURL = URL(fileURLWithPath: program)
  p.arguments = arguments
  if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
  let out = Pipe()
  let err = Pipe()
  p.standardOutput = out
  p.standardError = err
  try p.run()
  // Read both pipes while the process runs, so neither fills up.
  nonisolated(unsafe) var errData = Data()
  let reader = Thread { errData = err.fileHandleForReading.readDataToEndOfFile() }
  reader.start()
  let outData = out.fileHandleForReading.readDataToEndOfFile()
  p.waitUntilExit()
  while !reader.isFinished { usleep(1000) }
  return RunResult(
    status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
    stderr: String(decoding: errData, as: UTF8.self))
}

/// `lazyfs ARGS --store STORE`, expecting success; records the error output otherwise.
@discardableResult
func lazyfs(
  _ arguments: [String], store: String, cwd: String? = nil, sourceLocation: SourceLocation = #_sourceLocation
) throws -> RunResult {
  let r = try run(lazyfsBinary, arguments + ["--store", store], cwd: cwd)
  if r.status != 0 {
    Issue.record("lazyfs \(arguments.joined(separator: " ")) failed: \(r.stderr)", sourceLocation: sourceLocation)
  }
  return r
}

/// Imports `source` into `store` and returns the image digest (the last line of stdout).
@discardableResult
func importImage(_ source: String, store: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
  let r = try lazyfs(["import", source], store: store, sourceLocation: sourceLocation)
  #expect(r.lastLine.hasPrefix("sha256:") && r.lastLine.count == 71, sourceLocation: sourceLocation)
  return r.lastLine
}

/// A fresh directory under /tmp, removed by `remove()`.
struct TempDir {
  let path: String

  init(_ prefix: String = "import-tests") throws {
    var template = Array("/tmp/\(prefix)-XXXXXX".utf8CString)
    guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
      throw SystemError("mkdtemp")
    }
    path = String(cString: made)
  }

  func sub(_ name: String) -> String { "\(path)/\(name)" }
  func remove() { Files.removeTree(path) }
}

/// Total bytes of the regular files under `path`.
func diskBytes(_ path: String) throws -> Int64 {
  var total: Int64 = 0
  guard let e = FileManager.default.enumerator(atPath: path) else { return 0 }
  while let name = e.nextObject() as? String {
    var st = stat()
    if lstat("\(path)/\(name)", &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG { total += Int64(st.st_size) }
  }
  return total
}
