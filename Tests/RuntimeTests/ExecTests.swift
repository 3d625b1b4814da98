// exec into a running container: the namespaces, cgroup and security settings of its init, runc's flags,
// exit statuses, and refusal once the container has stopped.
import Foundation
import OCISpec
import Testing

@Suite("Exec (root, real containers)")
struct ExecTests {
  /// A running container (`sleep 1000`, run detached) with the given changes to its spec.
  func running(_ name: String, _ change: (TestContainer) -> Void = { _ in }) throws -> TestContainer {
    let c = try TestContainer(name, args: ["/bin/sleep", "1000"])
    change(c)
    try c.writeConfig()
    let run = c.crunFast("run", "--detach", "--pid-file", c.bundle + "/pid", "--bundle", c.bundle, c.id)
    try #require(run.status == 0, "\(run)")
    return c
  }

  func initPid(_ c: TestContainer) -> Int32 {
    Int32((try? String(contentsOfFile: c.bundle + "/pid", encoding: .utf8)) ?? "") ?? 0
  }

  @Test func execRunsInTheContainersNamespacesAndCgroup() throws {
    let c = try running("exec")
    defer { c.cleanup() }
    let hostname = c.crunFast("exec", c.id, "hostname")
    #expect(hostname.status == 0, "\(hostname)")
    #expect(hostname.stdout == "cf-test\n")
    let cgroup = c.crunFast("exec", c.id, "cat", "/proc/self/cgroup")
    #expect(cgroup.status == 0, "\(cgroup)")
    let initCgroup = try String(contentsOfFile: "/proc/\(initPid(c))/cgroup", encoding: .utf8)
    #expect(cgroup.stdout == initCgroup, "same cgroups as the init")
    #expect(cgroup.stdout.contains("/\(Paths.cgroupParent)/\(c.id)\n"))
    // The container's pid namespace (its pid 1 is the init) and its root (no host /work in it).
    let view = c.crunFast(
      "exec", c.id, "/bin/sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '; echo; test -d /work; echo $?")
    #expect(view.stdout == "/bin/sleep 1000 \n1\n", "\(view)")
  }

  @Test func execHasTheInitsSecuritySettings() throws {
    let c = try running("execsec")
    defer { c.cleanup() }
    let fields = ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp"]
    let result = c.crunFast("exec", c.id, "cat", "/proc/self/status")
    #expect(result.status == 0, "\(result)")
    let ours = statusFields(result.stdout)
    let theirs = statusFields(try String(contentsOfFile: "/proc/\(initPid(c))/status", encoding: .utf8))
    for field in fields { #expect(ours[field] == theirs[field], "\(field)") }
    #expect(ours["CapEff"] != "000001ffffffffff" && ours["CapEff"] != nil, "capabilities are dropped")
  }

  @Test func seccompOfTheConfigurationApplies() throws {
    let c = try running("execsc") {
      $0.spec.linux?.seccomp = Spec.Seccomp(
        defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [Spec.Syscall(names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO")])
    }
    defer { c.cleanup() }
    let result = c.crunFast("exec", c.id, "/bin/sh", "-c", "mkdir /tmp/x 2>&1; echo $?")
    #expect(result.stdout.hasSuffix("1\n"), "\(result)")
    #expect(result.stdout.contains("Operation not permitted"), "\(result)")
  }

  @Test(arguments: [0, 3, 42])
  func exitStatusIsTheProcesss(code: Int) throws {
    let c = try running("execexit")
    defer { c.cleanup() }
    #expect(c.crunFast("exec", c.id, "/bin/sh", "-c", "exit \(code)").status == Int32(code))
  }

  @Test func killedBySignalGives128PlusIt() throws {
    let c = try running("execsig")
    defer { c.cleanup() }
    let result = c.crunFast("exec", c.id, "/bin/sh", "-c", "kill -9 $$")
    #expect(result.status == 137, "\(result)")
  }

  @Test func flagsSetUserEnvironmentAndDirectory() throws {
    let c = try running("execflags")
    defer { c.cleanup() }
    let result = c.crunFast(
      "exec", "--user", "1000:1001", "--env", "FOO=bar baz", "--cwd", "/tmp", c.id, "/bin/sh", "-c",
      "id -u; id -g; echo $FOO; pwd")
    #expect(result.status == 0, "\(result)")
    #expect(result.stdout == "1000\n1001\nbar baz\n/tmp\n")
  }

  @Test func capAndNoNewPrivsFlagsAddToTheConfiguration() throws {
    let c = try running("execcap") { $0.spec.process?.noNewPrivileges = false }
    defer { c.cleanup() }
    let plain = statusFields(c.crunFast("exec", c.id, "cat", "/proc/self/status").stdout)
    let flagged = c.crunFast("exec", "--cap", "CAP_SYS_ADMIN", "--no-new-privs", c.id, "cat", "/proc/self/status")
    #expect(flagged.status == 0, "\(flagged)")
    let fields = statusFields(flagged.stdout)
    let sysAdmin: UInt64 = 1 << 21
    #expect((UInt64(plain["CapEff"] ?? "", radix: 16) ?? sysAdmin) & sysAdmin == 0, "\(plain)")
    #expect((UInt64(fields["CapEff"] ?? "", radix: 16) ?? 0) & sysAdmin != 0, "\(fields)")
    #expect((UInt64(fields["CapBnd"] ?? "", radix: 16) ?? 0) & sysAdmin != 0)
    #expect(plain["NoNewPrivs"] == "0" && fields["NoNewPrivs"] == "1")
  }

  @Test func signalsToExecAreForwarded() throws {
    let c = try running("execfwd")
    defer { c.cleanup() }
    let script = "trap 'echo got TERM; exit 7' TERM; echo ready > /out/ready; while :; do sleep 0.05; done"
    let result = c.crunFast("exec", c.id, "/bin/sh", "-c", script, timeout: 30) { pid in
      Thread {
        for _ in 0..<5000 where c.output("ready").isEmpty { usleep(2000) }
        kill(pid, SIGTERM)
      }.start()
    }
    #expect(result.status == 7, "\(result)")
    #expect(result.stdout == "got TERM\n")
  }

  @Test func processFileReplacesTheConfigurationsProcess() throws {
    let c = try running("execproc")
    defer { c.cleanup() }
    let process = """
      {"user": {"uid": 7, "gid": 8}, "args": ["/bin/sh", "-c", "id -u; echo $X; pwd"], "env": ["X=from-file"],
       "cwd": "/bin"}
      """
    try process.write(toFile: c.bundle + "/process.json", atomically: true, encoding: .utf8)
    let result = c.crunFast("exec", "--process", c.bundle + "/process.json", c.id)
    #expect(result.status == 0, "\(result)")
    #expect(result.stdout == "7\nfrom-file\n/bin\n")
  }

  @Test func detachedExecReturnsItsPid() throws {
    let c = try running("execdet")
    defer { c.cleanup() }
    let result = c.crunFast("exec", "--detach", "--pid-file", c.bundle + "/exec.pid", c.id, "/bin/sleep", "999")
    #expect(result.status == 0, "\(result)")
    let pid = Int32((try? String(contentsOfFile: c.bundle + "/exec.pid", encoding: .utf8)) ?? "") ?? 0
    #expect(pid > 0)
    let cmdline = (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? ""
    #expect(cmdline == "/bin/sleep\u{0}999\u{0}", "the detached process runs")
    let cgroup = (try? String(contentsOfFile: "/proc/\(pid)/cgroup", encoding: .utf8)) ?? ""
    #expect(cgroup.contains("/\(Paths.cgroupParent)/\(c.id)\n"))
  }

  @Test func missingCommandIsReported() throws {
    let c = try running("execmiss")
    defer { c.cleanup() }
    let result = c.crunFast("exec", c.id, "no-such-command")
    #expect(result.status == 1)
    #expect(result.stderr.contains("exec: exec \"no-such-command\": executable file not found"), "\(result)")
  }

  @Test func execIntoAStoppedContainerFails() throws {
    let c = try TestContainer("execstop", args: ["/bin/true"])
    defer { c.cleanup() }
    try c.writeConfig()
    #expect(c.crunFast("run", "--detach", "--bundle", c.bundle, c.id).status == 0)
    var waited = 0
    while !c.crunFast("state", c.id).stdout.contains("stopped") && waited < 3000 {
      usleep(1000)
      waited += 1
    }
    let result = c.crunFast("exec", c.id, "hostname")
    #expect(result.status == 1)
    #expect(result.stderr.contains("cannot exec in a stopped container"), "\(result)")
    let unknown = c.crunFast("exec", "no-such-container", "hostname")
    #expect(unknown.status == 1)
    #expect(unknown.stderr.contains("does not exist"), "\(unknown)")
  }
}
