// The container's process: arguments, environment, working directory, exit status and signals.
import Foundation
import OCISpec
import Synchronization
import TestSupport
import Testing

@Suite("Process (root, real containers)")
struct ProcessTests {
  @Test func environmentAndWorkingDirectory() throws {
    let c = try TestContainer("env", args: ["sh", "-c", "echo $FOO; pwd; echo $PATH"])
    defer { c.cleanup() }
    c.spec.process?.env = ["PATH=/bin", "FOO=bar baz"]
    c.spec.process?.cwd = "/etc"
    let result = try c.run()
    #expect(result.status == 0, "\(result)")
    #expect(result.stdout == "bar baz\n/etc\n/bin\n")
  }

  @Test(arguments: [0, 3, 42])
  func exitStatusIsTheContainers(code: Int) throws {
    let c = try TestContainer("exit", args: ["/bin/sh", "-c", "exit \(code)"])
    defer { c.cleanup() }
    #expect(try c.run().status == Int32(code))
    #expect(!c.stateDirectoryExists, "run deletes the container when it exits")
    #expect(c.cgroupDirectories.isEmpty)
  }

  @Test func killedBySignalNineExits137() throws {
    let c = try TestContainer("sig9", args: ["/bin/sleep", "1000"])
    defer { c.cleanup() }
    try c.writeConfig()
    // Kills once the state says running, and again until `run` returns: a kill that fails is reported,
    // and the test ends at the timeout rather than when the 1000 s sleep would.
    let done = Atomic(false)
    let kills = Mutex<[RunResult]>([])
    let killer = Thread {
      while !done.load(ordering: .acquiring) {
        if c.crunFast("state", c.id, timeout: 10).stdout.contains("\"running\"") {
          let kill = c.crunFast("kill", c.id, "KILL", timeout: 10)
          kills.withLock { $0.append(kill) }
        }
        usleep(20_000)
      }
    }
    killer.start()
    let result = c.crunFast("run", "--bundle", c.bundle, c.id, timeout: 30)
    done.store(true, ordering: .releasing)
    while !killer.isFinished { usleep(1000) }
    let attempts = kills.withLock { $0 }
    #expect(result.status == 137, "\(result)\nkills: \(attempts)")
    #expect(attempts.first?.status == 0, "\(attempts)")
  }

  @Test func signalsToRunAreForwarded() throws {
    let c = try TestContainer(
      "sigfwd",
      args: [
        "/bin/sh", "-c", "trap 'echo got TERM; exit 7' TERM; echo ready > /out/ready; while :; do sleep 0.05; done",
      ])
    defer { c.cleanup() }
    try c.writeConfig()
    let result = c.crunFast("run", "--bundle", c.bundle, c.id, timeout: 30) { pid in
      Thread {
        for _ in 0..<5000 where c.output("ready").isEmpty { usleep(2000) }
        kill(pid, SIGTERM)
      }.start()
    }
    #expect(result.status == 7, "\(result)")
    #expect(result.stdout == "got TERM\n")
  }

  @Test func missingExecutableIsReportedBeforeStart() throws {
    let c = try TestContainer("noexec", args: ["no-such-program"])
    defer { c.cleanup() }
    try c.writeConfig()
    let result = c.crunFast("create", "--bundle", c.bundle, c.id)
    #expect(result.status == 1)
    #expect(result.stderr.contains("no-such-program"))
    #expect(result.stderr.split(separator: "\n").count == 1, "one line: \(result.stderr)")
    #expect(!c.stateDirectoryExists)
    #expect(c.cgroupDirectories.isEmpty)
  }

  @Test func detachedRunReturnsAtOnce() throws {
    let c = try TestContainer("detach", args: ["/bin/sleep", "1000"])
    defer { c.cleanup() }
    try c.writeConfig()
    let started = Date()
    let result = c.crunFast("run", "--detach", "--bundle", c.bundle, "--pid-file", c.bundle + "/pid", c.id)
    #expect(result.status == 0, "\(result)")
    #expect(Date().timeIntervalSince(started) < 5)
    let pid = Int32((try? String(contentsOfFile: c.bundle + "/pid", encoding: .utf8)) ?? "") ?? 0
    #expect(pid > 0 && kill(pid, 0) == 0)
  }
}
