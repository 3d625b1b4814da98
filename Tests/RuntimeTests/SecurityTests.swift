// Identity and privilege inside the container: capabilities, seccomp, no_new_privs, uid/gid, rlimits.
import Foundation
import OCISpec
import Testing

@Suite("Security (root, real containers)")
struct SecurityTests {
  @Test func capabilitySetsMatchTheConfig() throws {
    let c = try TestContainer("caps", args: ["/bin/cat", "/proc/self/status"])
    defer { c.cleanup() }
    var caps = Spec.Capabilities(all: ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"])
    caps.ambient = ["CAP_KILL"]
    caps.effective = ["CAP_CHOWN", "CAP_KILL"]
    c.spec.process?.capabilities = caps
    let result = try c.run()
    #expect(result.status == 0, "\(result)")
    let status = statusFields(result.stdout)
    // CHOWN = bit 0, KILL = bit 5, NET_BIND_SERVICE = bit 10. As root, execve makes the effective set the
    // permitted one, which is inheritable ∪ bounding.
    #expect(status["CapBnd"] == "0000000000000421")
    #expect(status["CapPrm"] == "0000000000000421")
    #expect(status["CapEff"] == "0000000000000421")
    #expect(status["CapInh"] == "0000000000000421")
    #expect(status["CapAmb"] == "0000000000000020")
  }

  @Test func nonRootUserKeepsOnlyAmbientCapabilities() throws {
    let c = try TestContainer("capsuser", args: ["/bin/cat", "/proc/self/status"])
    defer { c.cleanup() }
    c.spec.process?.user = Spec.User(uid: 1000, gid: 1000, additionalGids: [10, 20])
    var caps = Spec.Capabilities(all: ["CAP_NET_BIND_SERVICE", "CAP_KILL"])
    caps.ambient = ["CAP_NET_BIND_SERVICE"]
    c.spec.process?.capabilities = caps
    let result = try c.run()
    #expect(result.status == 0, "\(result)")
    let status = statusFields(result.stdout)
    #expect(status["Uid"] == "1000\t1000\t1000\t1000")
    #expect(status["Gid"] == "1000\t1000\t1000\t1000")
    #expect(status["Groups"] == "10 20")
    #expect(status["CapEff"] == "0000000000000400")
    #expect(status["CapAmb"] == "0000000000000400")
    #expect(status["CapBnd"] == "0000000000000420")
  }

  @Test func unknownCapabilityIsRejected() throws {
    let c = try TestContainer("capbad", args: ["/bin/true"])
    defer { c.cleanup() }
    c.spec.process?.capabilities = Spec.Capabilities(all: ["CAP_NOT_A_THING"])
    let result = try c.run()
    #expect(result.status == 1)
    #expect(result.stderr.contains("CAP_NOT_A_THING"))
    #expect(!c.stateDirectoryExists)
  }

  @Test(arguments: [true, false])
  func seccompDeniesMkdirWithTheRequestedErrno(noNewPrivileges: Bool) throws {
    let c = try TestContainer(
      "seccomp", args: ["/bin/sh", "-c", "mkdir /tmp/x; echo $?; touch /tmp/y && echo touched"])
    defer { c.cleanup() }
    c.spec.process?.noNewPrivileges = noNewPrivileges
    c.spec.mounts?.append(Spec.Mount(destination: "/tmp", type: "tmpfs", source: "tmpfs", options: ["nosuid"]))
    c.spec.linux?.seccomp = Spec.Seccomp(
      defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
      syscalls: [Spec.Syscall(names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 1)])
    let result = try c.run()
    #expect(result.status == 0, "\(result)")
    #expect(result.stderr.contains("Operation not permitted"), "\(result)")
    #expect(result.stdout == "1\ntouched\n")
  }

  @Test func seccompErrnoIsTheOneConfigured() throws {
    let c = try TestContainer("seccompeacces", args: ["/bin/sh", "-c", "mkdir /tmp/x"])
    defer { c.cleanup() }
    c.spec.mounts?.append(Spec.Mount(destination: "/tmp", type: "tmpfs", source: "tmpfs"))
    c.spec.linux?.seccomp = Spec.Seccomp(
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [Spec.Syscall(names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 13)])
    let result = try c.run()
    #expect(result.status == 1)
    #expect(result.stderr.contains("Permission denied"), "\(result)")
  }

  @Test func seccompProfileIsCachedByContent() throws {
    let c = try TestContainer("seccompcache", args: ["/bin/true"])
    defer { c.cleanup() }
    c.spec.linux?.seccomp = Spec.Seccomp(
      defaultAction: "SCMP_ACT_ALLOW", syscalls: [Spec.Syscall(names: ["mkdir"], action: "SCMP_ACT_ERRNO")])
    #expect(try c.run().status == 0)
    let cache = (try? FileManager.default.contentsOfDirectory(atPath: c.root + "/@seccomp")) ?? []
    #expect(cache.count == 1)
    #expect(cache.first?.hasSuffix(".bpf") == true)
    #expect(try c.run().status == 0)
    #expect(((try? FileManager.default.contentsOfDirectory(atPath: c.root + "/@seccomp")) ?? []).count == 1)
  }

  @Test(arguments: [true, false])
  func noNewPrivileges(_ enabled: Bool) throws {
    let c = try TestContainer("nnp", args: ["/bin/cat", "/proc/self/status"])
    defer { c.cleanup() }
    c.spec.process?.noNewPrivileges = enabled
    let result = try c.run()
    #expect(result.status == 0, "\(result)")
    #expect(statusFields(result.stdout)["NoNewPrivs"] == (enabled ? "1" : "0"))
  }

  @Test func rlimitsAndUmask() throws {
    let c = try TestContainer("rlimit", args: ["/bin/sh", "-c", "ulimit -n; ulimit -Hn; umask"])
    defer { c.cleanup() }
    c.spec.process?.rlimits = [Spec.Rlimit(type: "RLIMIT_NOFILE", hard: 200, soft: 123)]
    c.spec.process?.user.umask = 0o027
    let result = try c.run()
    #expect(result.status == 0, "\(result)")
    #expect(result.stdout == "123\n200\n0027\n")
  }

  @Test func oomScoreAdj() throws {
    let c = try TestContainer("oomadj", args: ["/bin/cat", "/proc/self/oom_score_adj"])
    defer { c.cleanup() }
    c.spec.process?.oomScoreAdj = 345
    let result = try c.run()
    #expect(result.stdout == "345\n", "\(result)")
  }
}
