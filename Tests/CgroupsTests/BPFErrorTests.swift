import Cgroups
import LinuxSystem
import Testing

/// A BPF failure prints with its verifier log, and its failed call is found like any other.
@Suite struct BPFErrorTests {
  @Test func theFailedCallIsFoundUnderneath() {
    let error = BPFError("BPF_PROG_LOAD", path: "/sys/fs/cgroup/x", errno: .EINVAL, verifierLog: "R0 !read_ok")
    #expect(error.systemError?.errno == .EINVAL)
    #expect(error.systemError?.path == "/sys/fs/cgroup/x")
    #expect(error.description.contains("verifier log:\nR0 !read_ok"))
    #expect((error as any Error).systemError?.call == "bpf(BPF_PROG_LOAD)")
  }
}
