import Codecs
import Foundation
import Glibc
import LinuxSystem
import TestSupport
import Testing

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
