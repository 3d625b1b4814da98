// Bad input is refused with one clear line and leaves nothing behind: no state, no cgroup, no mount.
import Foundation
import OCISpec
import Testing

@Suite("Bad input (root)")
struct BadInputTests {
  /// Runs `create` on `c` with config.json replaced by `json` (or the spec when nil) and checks the
  /// failure: exit 1, one line on stderr that contains `message`, nothing left on the host.
  func expectRefused(_ c: TestContainer, json: String? = nil, id: String? = nil, message: String) throws {
    if let json {
      try json.write(toFile: c.bundle + "/config.json", atomically: true, encoding: .utf8)
    } else {
      try c.writeConfig()
    }
    let result = c.crunFast("create", "--bundle", c.bundle, id ?? c.id)
    #expect(result.status == 1, "\(result)")
    #expect(result.stderr.contains(message), "\(result)")
    #expect(result.stderr.split(separator: "\n").count == 1, "one line: \(result.stderr)")
    #expect(!c.stateDirectoryExists)
    #expect(c.cgroupDirectories.isEmpty)
    #expect(!c.hostMountsLeft)
  }

  @Test func malformedJSON() throws {
    let c = try TestContainer("badjson", args: ["/bin/true"])
    defer { c.cleanup() }
    try expectRefused(c, json: "{\"ociVersion\": \"1.0.2\", \"process\": ", message: "config.json: not valid JSON")
  }

  @Test func fieldOfTheWrongType() throws {
    let c = try TestContainer("badtype", args: ["/bin/true"])
    defer { c.cleanup() }
    let json = String(decoding: c.spec.encoded(), as: UTF8.self).replacingOccurrences(
      of: "\"uid\" : 0", with: "\"uid\" : \"root\"")
    #expect(json.contains("\"root\""))
    try expectRefused(c, json: json, message: "process.user.uid")
  }

  @Test func unknownNamespaceNamesItsIndex() throws {
    let c = try TestContainer("badns", args: ["/bin/true"])
    defer { c.cleanup() }
    c.spec.linux?.namespaces?.append(Spec.Namespace(type: "bogus"))
    try expectRefused(c, message: "linux.namespaces[5].type")
  }

  @Test func missingRootfs() throws {
    let c = try TestContainer("norootfs", args: ["/bin/true"])
    defer { c.cleanup() }
    c.spec.root?.path = "no-such-rootfs"
    try expectRefused(c, message: "root.path")
  }

  @Test func seccompNamingAnUnknownSyscall() throws {
    let c = try TestContainer("badsys", args: ["/bin/true"])
    defer { c.cleanup() }
    c.spec.linux?.seccomp = Spec.Seccomp(
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [Spec.Syscall(names: ["mkdir", "not_a_syscall"], action: "SCMP_ACT_ERRNO")])
    try expectRefused(c, message: "linux.seccomp.syscalls[0].names: unknown system call \"not_a_syscall\"")
  }

  @Test(arguments: ["a/b", "..", "", "x y"])
  func invalidID(_ id: String) throws {
    let c = try TestContainer("badid", args: ["/bin/true"])
    defer { c.cleanup() }
    try expectRefused(c, id: id, message: id.isEmpty ? "container id" : "invalid container id")
  }

  @Test func existingID() throws {
    let c = try TestContainer("dup", args: ["/bin/sleep", "1000"])
    defer { c.cleanup() }
    try c.writeConfig()
    #expect(c.crunFast("create", "--bundle", c.bundle, c.id).status == 0)
    let again = c.crunFast("create", "--bundle", c.bundle, c.id)
    #expect(again.status == 1)
    #expect(again.stderr.contains("already exists"))
    // The first container is untouched.
    #expect(c.crunFast("state", c.id).stdout.contains("created"))
  }

  @Test func failingMountLeavesNothing() throws {
    let c = try TestContainer("badmount", args: ["/bin/true"])
    defer { c.cleanup() }
    c.spec.mounts?.append(Spec.Mount(destination: "/x", type: "nosuchfs", source: "none"))
    try expectRefused(c, message: "container init: mount")
  }

  @Test func unknownVerbAndFlag() throws {
    let verb = runProcess(Paths.binary, ["frobnicate"])
    #expect(verb.status == 1)
    #expect(verb.stderr.contains("unknown command"))
    let flag = runProcess(Paths.binary, ["run", "--frob", "x"])
    #expect(flag.status == 1)
    #expect(flag.stderr.contains("unknown flag --frob"))
  }

  @Test func errorsGoToTheLogInJSON() throws {
    let c = try TestContainer("log", args: ["/bin/true"])
    defer { c.cleanup() }
    let log = c.bundle + "/log.json"
    let result = runProcess(Paths.binary, ["--root", c.root, "--log", log, "--log-format", "json", "state", "nope"])
    #expect(result.status == 1)
    let line = try String(contentsOfFile: log, encoding: .utf8)
    let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
    #expect(object?["level"] as? String == "error")
    #expect((object?["msg"] as? String)?.contains("does not exist") == true)
  }
}
