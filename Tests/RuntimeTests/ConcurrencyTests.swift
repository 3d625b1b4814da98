// Many containers at once, and two commands racing on one container.
import Foundation
import Testing

@Suite("Concurrency (root, real containers)")
struct ConcurrencyTests {
  @Test func fiftyContainersAtOnce() throws {
    let containers = try (0..<50).map { try TestContainer("many\($0)", args: ["/bin/sh", "-c", "echo $$"]) }
    defer { for c in containers { c.cleanup() } }
    for c in containers { try c.writeConfig() }
    let results = Results(count: containers.count)
    DispatchQueue.concurrentPerform(iterations: containers.count) { i in
      let c = containers[i]
      results.set(i, c.crunFast("run", "--bundle", c.bundle, c.id, timeout: 120))
    }
    for (i, result) in results.all.enumerated() {
      #expect(result?.status == 0, "\(containers[i].id): \(String(describing: result))")
      #expect(result?.stdout == "1\n")
      #expect(!containers[i].stateDirectoryExists)
      #expect(containers[i].cgroupDirectories.isEmpty)
    }
  }

  @Test func concurrentDeletesOfOneContainer() throws {
    let c = try TestContainer("race", args: ["/bin/sleep", "1000"])
    defer { c.cleanup() }
    try c.writeConfig()
    #expect(c.crunFast("run", "-d", "--bundle", c.bundle, c.id).status == 0)
    let results = Results(count: 4)
    DispatchQueue.concurrentPerform(iterations: 4) { i in results.set(i, c.crunFast("delete", "--force", c.id)) }
    let statuses = results.all.map { $0?.status ?? -1 }
    #expect(statuses.filter { $0 == 0 }.count >= 1)
    for (status, result) in zip(statuses, results.all) where status != 0 {
      #expect(result?.stderr.contains("does not exist") == true, "\(String(describing: result))")
    }
    #expect(!c.stateDirectoryExists)
    #expect(c.cgroupDirectories.isEmpty)
  }
}

/// Results gathered from concurrent workers.
final class Results: @unchecked Sendable {
  private let lock = NSLock()
  private var values: [CommandResult?]
  init(count: Int) { values = Array(repeating: nil, count: count) }
  func set(_ i: Int, _ value: CommandResult) { lock.withLock { values[i] = value } }
  var all: [CommandResult?] { lock.withLock { values } }
}
