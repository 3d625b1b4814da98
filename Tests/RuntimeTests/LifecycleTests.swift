// create → start → kill → delete, as separate commands, and what each leaves behind.
import Foundation
import Testing

@Suite("Lifecycle (root, real containers)")
struct LifecycleTests {
  func status(_ c: TestContainer) -> String {
    let result = c.crunFast("state", c.id)
    guard result.status == 0, let data = result.stdout.data(using: .utf8),
      let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
    else { return "error: \(result)" }
    return object["status"] as? String ?? "?"
  }

  @Test func createStartKillDelete() throws {
    let c = try TestContainer("life", args: ["/bin/sh", "-c", "echo started > /out/started; exec sleep 1000"])
    defer { c.cleanup() }
    try c.writeConfig()
    let create = c.crunFast("create", "--bundle", c.bundle, "--pid-file", c.bundle + "/pid", c.id)
    #expect(create.status == 0, "\(create)")
    #expect(status(c) == "created")
    #expect(c.output("started").isEmpty, "the process must not run before start")
    let pid = try String(contentsOfFile: c.bundle + "/pid", encoding: .utf8)
    #expect(Int32(pid) ?? 0 > 1)
    let state = c.crunFast("state", c.id)
    #expect(state.stdout.contains("\"pid\" : \(pid)"))
    #expect(state.stdout.contains("\"bundle\" : \"\(c.bundle)\""))
    #expect(!c.cgroupDirectories.isEmpty)

    let start = c.crunFast("start", c.id)
    #expect(start.status == 0, "\(start)")
    #expect(status(c) == "running")
    var waited = 0
    while c.output("started").isEmpty && waited < 2000 {
      usleep(1000)
      waited += 1
    }
    #expect(c.output("started") == "started\n")
    #expect(c.crunFast("start", c.id).status != 0, "a running container cannot be started again")

    let refused = c.crunFast("delete", c.id)
    #expect(refused.status == 1)
    #expect(refused.stderr.contains("not stopped"))

    let kill = c.crunFast("kill", c.id, "KILL")
    #expect(kill.status == 0, "\(kill)")
    waited = 0
    while status(c) != "stopped" && waited < 2000 {
      usleep(1000)
      waited += 1
    }
    #expect(status(c) == "stopped")
    let delete = c.crunFast("delete", c.id)
    #expect(delete.status == 0, "\(delete)")
    #expect(!c.stateDirectoryExists)
    #expect(c.cgroupDirectories.isEmpty)
    #expect(!c.hostMountsLeft)
    #expect(c.crunFast("state", c.id).status == 1)
  }

  @Test func deleteForceKillsARunningContainer() throws {
    let c = try TestContainer("force", args: ["/bin/sleep", "1000"])
    defer { c.cleanup() }
    try c.writeConfig()
    #expect(c.crunFast("run", "--detach", "--bundle", c.bundle, c.id).status == 0)
    #expect(status(c) == "running")
    let delete = c.crunFast("delete", "--force", c.id)
    #expect(delete.status == 0, "\(delete)")
    #expect(!c.stateDirectoryExists)
    #expect(c.cgroupDirectories.isEmpty)
  }

  @Test func deleteOfACreatedContainerNeedsNoForce() throws {
    let c = try TestContainer("created", args: ["/bin/true"])
    defer { c.cleanup() }
    try c.writeConfig()
    #expect(c.crunFast("create", "--bundle", c.bundle, c.id).status == 0)
    let delete = c.crunFast("delete", c.id)
    #expect(delete.status == 0, "\(delete)")
    #expect(!c.stateDirectoryExists)
  }

  @Test func listShowsContainers() throws {
    let c = try TestContainer("list", args: ["/bin/sleep", "1000"])
    defer { c.cleanup() }
    try c.writeConfig()
    #expect(c.crunFast("create", "--bundle", c.bundle, c.id).status == 0)
    let table = c.crunFast("list")
    #expect(table.stdout.hasPrefix("ID "))
    #expect(table.stdout.contains(c.id))
    #expect(table.stdout.contains("created"))
    let json = c.crunFast("list", "--format", "json")
    let array = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]]
    #expect(array?.first?["id"] as? String == c.id)
  }

  @Test func killAllSignalsEveryProcess() throws {
    let c = try TestContainer("killall", args: ["/bin/sh", "-c", "sleep 1000 & sleep 1000 & wait"])
    defer { c.cleanup() }
    c.spec.linux?.namespaces?.removeAll { $0.type == "pid" }
    try c.writeConfig()
    #expect(c.crunFast("run", "-d", "--bundle", c.bundle, c.id).status == 0)
    usleep(100_000)
    #expect(c.crunFast("kill", "--all", c.id, "9").status == 0)
    var waited = 0
    while status(c) != "stopped" && waited < 3000 {
      usleep(1000)
      waited += 1
    }
    #expect(status(c) == "stopped")
    #expect(c.crunFast("delete", c.id).status == 0)
    #expect(c.cgroupDirectories.isEmpty)
  }
}
