// What a process sees inside a container: its own pid 1, hostname, mounts, a read-only root, masked paths.
import Foundation
import Testing

@Suite("Isolation (root, real containers)")
struct IsolationTests {
  @Test func processIsPID1WithItsOwnHostname() throws {
    let c = try TestContainer("pid1", args: ["/bin/sh", "-c", "echo $$; hostname"])
    defer { c.cleanup() }
    let result = try c.run()
    #expect(result.status == 0, "\(result)")
    #expect(result.stdout == "1\ncf-test\n")
  }

  @Test func mountsAreTheConfiguredOnes() throws {
    let c = try TestContainer("mounts", args: ["/bin/sh", "-c", "cat /proc/self/mountinfo > /out/mountinfo"])
    defer { c.cleanup() }
    let result = try c.run()
    #expect(result.status == 0, "\(result)")
    let mounts = c.output("mountinfo").split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
    func mount(_ point: String) -> [String]? { mounts.first { $0.count > 8 && $0[4] == point } }
    func type(_ point: String) -> String? { mount(point).flatMap { m in m.firstIndex(of: "-").map { m[$0 + 1] } } }
    #expect(type("/proc") == "proc")
    #expect(type("/dev") == "tmpfs")
    #expect(type("/dev/pts") == "devpts")
    #expect(type("/dev/shm") == "tmpfs")
    #expect(type("/dev/mqueue") == "mqueue")
    #expect(type("/sys") == "sysfs")
    #expect(type("/sys/fs/cgroup") == "tmpfs")
    #expect(mount("/")?[5].hasPrefix("ro") == true, "root mounted read-only")
    #expect(mount("/out")?[5].hasPrefix("rw") == true)
    // Nothing of the host's mount table shows through (its /work, /boot, …).
    #expect(mount("/work") == nil)
    #expect(mounts.count < 40)
  }

  @Test func readOnlyRootRefusesWrites() throws {
    let c = try TestContainer(
      "rootro", args: ["/bin/sh", "-c", "touch /newfile 2>/out/err; echo $? > /out/status; touch /dev/shm/ok"])
    defer { c.cleanup() }
    let result = try c.run()
    #expect(result.status == 0, "\(result)")
    #expect(c.output("status") == "1\n")
    #expect(c.output("err").contains("Read-only file system"))
    #expect(!FileManager.default.fileExists(atPath: c.rootfs + "/newfile"))
  }

  @Test func writableRootWhenNotReadonly() throws {
    let c = try TestContainer("rootrw", args: ["/bin/sh", "-c", "touch /newfile"])
    defer { c.cleanup() }
    c.spec.root?.readonly = false
    let result = try c.run()
    #expect(result.status == 0, "\(result)")
    #expect(FileManager.default.fileExists(atPath: c.rootfs + "/newfile"))
  }

  @Test func maskedAndReadonlyPaths() throws {
    let script = """
      cat /proc/keys | wc -c > /out/keys; ls /sys/firmware | wc -l > /out/firmware
      echo 1 > /proc/sys/kernel/ns_last_pid 2>/out/sysctl-err; echo $? > /out/sysctl
      """
    let c = try TestContainer("masked", args: ["/bin/sh", "-c", script])
    defer { c.cleanup() }
    let result = try c.run()
    #expect(result.status == 0, "\(result)")
    #expect(c.output("keys").trimmingCharacters(in: .whitespacesAndNewlines) == "0", "/proc/keys is /dev/null")
    #expect(c.output("firmware").trimmingCharacters(in: .whitespacesAndNewlines) == "0", "/sys/firmware is empty")
    #expect(c.output("sysctl") == "1\n", "/proc/sys is read-only")
  }

  @Test func defaultDevicesAndLinks() throws {
    let script = "ls -l /dev > /out/dev; echo x > /dev/null && head -c 4 /dev/zero | wc -c > /out/zero"
    let c = try TestContainer("devices", args: ["/bin/sh", "-c", script])
    defer { c.cleanup() }
    let result = try c.run()
    #expect(result.status == 0, "\(result)")
    let dev = c.output("dev")
    for name in ["null", "zero", "full", "random", "urandom", "tty"] {
      #expect(dev.contains(" \(name)\n") || dev.contains(" \(name)"), "missing /dev/\(name)")
    }
    #expect(dev.contains("crw-rw-rw-"))
    #expect(dev.contains("fd -> /proc/self/fd"))
    #expect(dev.contains("ptmx -> pts/ptmx"))
    #expect(c.output("zero") == "4\n")
  }

  @Test func sysctlIsWritten() throws {
    let c = try TestContainer("sysctl", args: ["/bin/sh", "-c", "cat /proc/sys/kernel/shmmni"])
    defer { c.cleanup() }
    c.spec.linux?.sysctl = ["kernel.shmmni": "1234"]
    let result = try c.run()
    #expect(result.status == 0, "\(result)")
    #expect(result.stdout == "1234\n")
  }
}
