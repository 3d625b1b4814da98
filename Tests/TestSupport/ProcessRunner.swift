import Foundation

/// What a program run to completion printed, and how it ended.
public struct RunResult {
  public var status: Int32
  public var stdout: String
  public var stderr: String
  public var lastLine: String { stdout.split(separator: "\n").last.map(String.init) ?? "" }
}

/// Runs a program to completion, capturing its output.
@discardableResult
public func run(_ program: String, _ arguments: [String], cwd: String? = nil) throws -> RunResult {
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
