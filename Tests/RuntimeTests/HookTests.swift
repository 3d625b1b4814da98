// OCI hooks for real: shell scripts that record their stdin (the state JSON), where they ran and in what
// order; failing, slow and misplaced hooks.
import Foundation
import OCISpec
import Testing

@Suite("Hooks (root, real containers)")
struct HookTests {
  /// A host-side hook: `record DIR PHASE` saves stdin as DIR/PHASE.json and appends "PHASE HOSTNAME MNTNS
  /// FOO" to DIR/order.
  static let recorder = """
    #!/bin/sh
    cat > "$1/$2.json"
    echo "$2 $(hostname) $(readlink /proc/self/ns/mnt) ${FOO:-}" >> "$1/order"
    """

  func install(_ script: String, at path: String) throws {
    try script.write(toFile: path, atomically: true, encoding: .utf8)
    chmod(path, 0o755)
  }

  /// A hook running the recorder for `phase`.
  func hook(_ c: TestContainer, _ phase: String, env: [String]? = nil) -> Spec.Hook {
    Spec.Hook(path: c.bundle + "/record", args: ["record", c.bundle + "/hooks", phase], env: env)
  }

  func json(_ path: String) -> [String: Any] {
    guard let data = FileManager.default.contents(atPath: path) else { return [:] }
    return (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
  }

  func order(_ c: TestContainer) -> [[String]] {
    let text = (try? String(contentsOfFile: c.bundle + "/hooks/order", encoding: .utf8)) ?? ""
    return text.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
  }

  /// A createContainer hook runs in the container's network namespace with `lo` already up, as under runc
  /// (whose init brings it up before the hooks): IPv6 gives `lo` its ::1 only once it is up.
  @Test func createContainerHookSeesLoopbackUp() throws {
    let c = try TestContainer("hooklo", args: ["/bin/true"])
    defer { c.cleanup() }
    try install("#!/bin/sh\ngrep -c ' lo$' /proc/self/net/if_inet6 > \"$1\"\n", at: c.bundle + "/lo-hook")
    c.spec.hooks = Spec.Hooks(
      createContainer: [Spec.Hook(path: c.bundle + "/lo-hook", args: ["lo-hook", c.bundle + "/lo-count"])])
    #expect(c.spec.linux?.namespaces?.contains { $0.type == "network" && $0.path == nil } == true)
    let result = try c.run()
    #expect(result.status == 0, "\(result)")
    let count = try String(contentsOfFile: c.bundle + "/lo-count", encoding: .utf8)
    #expect(count == "1\n", "lines for lo in the hook's /proc/self/net/if_inet6: \(count)")
  }

  @Test func everyHookRunsInItsPlaceWithTheState() throws {
    let c = try TestContainer("hooks", args: ["/bin/sleep", "1000"])
    defer { c.cleanup() }
    try FileManager.default.createDirectory(atPath: c.bundle + "/hooks", withIntermediateDirectories: true)
    try install(Self.recorder, at: c.bundle + "/record")
    // startContainer runs in the container, after pivot_root: its script is in the container's root.
    try install(
      "#!/bin/sh\ncat > /out/startContainer.json\nhostname > /out/startContainer.host\necho $FOO > /out/startContainer.env\n",
      at: c.rootfs + "/bin/hook")
    c.spec.process?.env = ["PATH=/bin", "FOO=from-process"]
    c.spec.hooks = Spec.Hooks(
      prestart: [hook(c, "prestart", env: ["FOO=from-env"])], createRuntime: [hook(c, "createRuntime")],
      createContainer: [hook(c, "createContainer")], startContainer: [Spec.Hook(path: "/bin/hook")],
      poststart: [hook(c, "poststart")], poststop: [hook(c, "poststop")])
    try c.writeConfig()
    let hostMountNamespace = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/mnt")

    let create = c.crunFast("create", "--bundle", c.bundle, c.id)
    #expect(create.status == 0, "\(create)")
    let pid = json(c.bundle + "/hooks/createRuntime.json")["pid"] as? Int ?? 0
    let state = c.crunFast("state", c.id).stdout
    #expect(pid > 1 && state.contains("\"pid\" : \(pid)"), "hooks get the init's pid: \(state)")
    let initMountNamespace = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/ns/mnt")
    var lines = order(c)
    #expect(lines.map { $0[0] } == ["prestart", "createRuntime", "createContainer"])
    #expect(lines.first?.last == "from-env", "env honoured: \(lines)")
    #expect(lines[0][2] == hostMountNamespace && lines[1][2] == hostMountNamespace, "runtime namespace: \(lines)")
    #expect(lines[2][1] == "cf-test", "createContainer in the container's uts namespace: \(lines)")
    #expect(lines[2][2] == initMountNamespace && initMountNamespace != hostMountNamespace, "\(lines)")
    for phase in ["prestart", "createRuntime", "createContainer"] {
      let object = json(c.bundle + "/hooks/\(phase).json")
      #expect(object["status"] as? String == "creating", "\(phase): \(object)")
      #expect(object["id"] as? String == c.id)
      #expect(object["bundle"] as? String == c.bundle)
    }
    #expect(c.output("startContainer.json").isEmpty, "startContainer waits for start")

    let start = c.crunFast("start", c.id)
    #expect(start.status == 0, "\(start)")
    let started = json(c.out + "/startContainer.json")
    #expect(started["id"] as? String == c.id && started["status"] as? String == "created", "\(started)")
    #expect(c.output("startContainer.host") == "cf-test\n")
    #expect(c.output("startContainer.env") == "from-process\n", "the container process's environment")
    lines = order(c)
    #expect(lines.map { $0[0] } == ["prestart", "createRuntime", "createContainer", "poststart"])
    #expect(json(c.bundle + "/hooks/poststart.json")["status"] as? String == "running")

    #expect(c.crunFast("kill", c.id, "KILL").status == 0)
    var waited = 0
    while !c.crunFast("state", c.id).stdout.contains("stopped") && waited < 3000 {
      usleep(1000)
      waited += 1
    }
    let delete = c.crunFast("delete", c.id)
    #expect(delete.status == 0, "\(delete)")
    #expect(order(c).last?.first == "poststop")
    #expect(json(c.bundle + "/hooks/poststop.json")["status"] as? String == "stopped")
  }

  /// A create-time hook that fails makes create fail with its name and exit status, and nothing is left.
  @Test(arguments: ["prestart", "createRuntime", "createContainer"])
  func failingCreateHookFailsCreate(phase: String) throws {
    let c = try TestContainer("hookfail", args: ["/bin/true"])
    defer { c.cleanup() }
    try install("#!/bin/sh\necho bad things happened >&2\nexit 3\n", at: c.bundle + "/fail")
    let failing = [Spec.Hook(path: c.bundle + "/fail")]
    switch phase {
    case "prestart": c.spec.hooks = Spec.Hooks(prestart: failing)
    case "createRuntime": c.spec.hooks = Spec.Hooks(createRuntime: failing)
    default: c.spec.hooks = Spec.Hooks(createContainer: failing)
    }
    try c.writeConfig()
    let result = c.crunFast("create", "--bundle", c.bundle, c.id)
    #expect(result.status == 1)
    #expect(
      result.stderr.contains("\(phase) hook \"\(c.bundle)/fail\" failed: exit status 3: bad things happened"),
      "\(result)")
    #expect(result.stderr.split(separator: "\n").count == 1, "one line: \(result.stderr)")
    #expect(!c.stateDirectoryExists)
    #expect(c.cgroupDirectories.isEmpty)
    #expect(!c.hostMountsLeft)
  }

  @Test func hookTimeoutKillsItAndFailsCreate() throws {
    let c = try TestContainer("hooktime", args: ["/bin/true"])
    defer { c.cleanup() }
    try install("#!/bin/sh\nexec sleep 100\n", at: c.bundle + "/slow")
    c.spec.hooks = Spec.Hooks(createRuntime: [Spec.Hook(path: c.bundle + "/slow", timeout: 1)])
    try c.writeConfig()
    let result = c.crunFast("create", "--bundle", c.bundle, c.id)
    #expect(result.status == 1)
    #expect(result.stderr.contains("createRuntime hook \"\(c.bundle)/slow\" failed: timed out after 1 s"), "\(result)")
    #expect(!c.stateDirectoryExists)
    #expect(c.cgroupDirectories.isEmpty)
  }

  @Test func failingStartContainerHookFailsStartAndRun() throws {
    let c = try TestContainer("hookstart", args: ["/bin/sh", "-c", "echo ran > /out/ran"])
    defer { c.cleanup() }
    try install("#!/bin/sh\nexit 4\n", at: c.rootfs + "/bin/fail")
    c.spec.hooks = Spec.Hooks(startContainer: [Spec.Hook(path: "/bin/fail")])
    try c.writeConfig()
    #expect(c.crunFast("create", "--bundle", c.bundle, c.id).status == 0)
    let start = c.crunFast("start", c.id)
    #expect(start.status == 1)
    #expect(start.stderr.contains("startContainer hook \"/bin/fail\" failed: exit status 4"), "\(start)")
    #expect(c.output("ran").isEmpty, "the process never ran")
    #expect(c.crunFast("delete", "--force", c.id).status == 0)

    let run = c.crunFast("run", "--bundle", c.bundle, c.id)
    #expect(run.status == 1)
    #expect(run.stderr.contains("startContainer hook \"/bin/fail\" failed: exit status 4"), "\(run)")
    #expect(c.output("ran").isEmpty)
    #expect(!c.stateDirectoryExists)
    #expect(c.cgroupDirectories.isEmpty)
  }

  @Test func startContainerHookTimeoutFailsStart() throws {
    let c = try TestContainer("hookstime", args: ["/bin/sh", "-c", "echo ran > /out/ran"])
    defer { c.cleanup() }
    try install("#!/bin/sh\nexec sleep 100\n", at: c.rootfs + "/bin/slow")
    c.spec.hooks = Spec.Hooks(startContainer: [Spec.Hook(path: "/bin/slow", timeout: 1)])
    try c.writeConfig()
    #expect(c.crunFast("create", "--bundle", c.bundle, c.id).status == 0)
    let start = c.crunFast("start", c.id)
    #expect(start.status == 1)
    #expect(start.stderr.contains("startContainer hook \"/bin/slow\" failed: timed out"), "\(start)")
    #expect(c.output("ran").isEmpty, "the process never ran")
  }

  @Test func failingPoststopHookIsOnlyAWarning() throws {
    let c = try TestContainer("hookstop", args: ["/bin/true"])
    defer { c.cleanup() }
    try install("#!/bin/sh\nexit 5\n", at: c.bundle + "/fail")
    c.spec.hooks = Spec.Hooks(
      poststart: [Spec.Hook(path: c.bundle + "/fail")], poststop: [Spec.Hook(path: c.bundle + "/fail")])
    let result = try c.run()
    #expect(result.status == 0, "\(result)")
    #expect(result.stderr.contains("warning: poststart hook \"\(c.bundle)/fail\" failed: exit status 5"), "\(result)")
    #expect(result.stderr.contains("warning: poststop hook \"\(c.bundle)/fail\" failed: exit status 5"), "\(result)")
    #expect(!c.stateDirectoryExists)
  }

  @Test func relativeHookPathIsRefused() throws {
    let c = try TestContainer("hookrel", args: ["/bin/true"])
    defer { c.cleanup() }
    c.spec.hooks = Spec.Hooks(poststop: [Spec.Hook(path: "hook.sh")])
    try c.writeConfig()
    let result = c.crunFast("create", "--bundle", c.bundle, c.id)
    #expect(result.status == 1)
    #expect(result.stderr.contains("hooks.poststop[0].path: must be an absolute path"), "\(result)")
    #expect(!c.stateDirectoryExists)
  }
}
