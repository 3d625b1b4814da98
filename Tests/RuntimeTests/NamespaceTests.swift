// User namespaces with id mappings, and namespaces joined by path, checked from inside and from the host.
import Foundation
import OCISpec
import Testing

@Suite("Namespaces (root, real containers)")
struct NamespaceTests {
  static let hostRoot: UInt32 = 100_000

  /// A container in a new user namespace whose root is host uid/gid 100000 (65536 ids), with its rootfs and
  /// /out owned by that root, as a bundle for a user namespace must be.
  func userNamespaced(_ name: String, args: [String]) throws -> TestContainer {
    let c = try TestContainer(name, args: args)
    // The rootfs holds a hard link to the host's busybox: chowning it would chown the host's.
    let busybox = c.rootfs + "/bin/busybox"
    try FileManager.default.removeItem(atPath: busybox)
    try FileManager.default.copyItem(atPath: "/bin/busybox", toPath: busybox)
    let paths = [c.rootfs, c.out] + (FileManager.default.subpaths(atPath: c.rootfs) ?? []).map { c.rootfs + "/" + $0 }
    for path in paths { lchown(path, Self.hostRoot, Self.hostRoot) }
    c.spec.linux?.namespaces?.append(Spec.Namespace(type: "user"))
    c.spec.linux?.uidMappings = [Spec.IDMapping(containerID: 0, hostID: Self.hostRoot, size: 65536)]
    c.spec.linux?.gidMappings = [Spec.IDMapping(containerID: 0, hostID: Self.hostRoot, size: 65536)]
    return c
  }

  @Test func userNamespaceMapsRootToAnUnprivilegedHostUser() throws {
    let script =
      "id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map | tr -s ' '; touch /out/made; ls -n /bin/busybox"
    let c = try userNamespaced("userns", args: ["/bin/sh", "-c", script])
    defer { c.cleanup() }
    let result = try c.run()
    #expect(result.status == 0, "\(result)")
    let lines = result.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
    #expect(Array(lines.prefix(4)) == ["0", "0", "0 100000 65536", "0 100000 65536"], "\(result.stdout)")
    #expect(lines.last?.contains(" 0 ") == true, "files of host uid 100000 belong to root inside: \(result.stdout)")
    var st = stat()
    #expect(stat(c.out + "/made", &st) == 0)
    #expect(st.st_uid == Self.hostRoot && st.st_gid == Self.hostRoot, "a file root made is 100000's on the host")
    #expect(!c.stateDirectoryExists)
    #expect(c.cgroupDirectories.isEmpty)
  }

  /// A new network namespace has `lo` up (IFF_UP | IFF_LOOPBACK = 0x9), as runc and crun leave it, with or
  /// without a user namespace around it.
  @Test(arguments: [false, true]) func newNetworkNamespaceHasLoopbackUp(userNamespace: Bool) throws {
    let args = ["/bin/cat", "/sys/class/net/lo/flags"]
    let c = try userNamespace ? userNamespaced("lo-userns", args: args) : TestContainer("lo", args: args)
    defer { c.cleanup() }
    #expect(c.spec.linux?.namespaces?.contains { $0.type == "network" && $0.path == nil } == true)
    let result = try c.run()
    #expect(result.status == 0, "\(result)")
    #expect(result.stdout == "0x9\n", "\(result)")
  }

  @Test func createContainerHookRunsInTheUserNamespace() throws {
    let c = try userNamespaced("usernshook", args: ["/bin/true"])
    defer { c.cleanup() }
    let hook = c.bundle + "/hook"
    try "#!/bin/sh\nid -u > \(c.out)/hook-uid\ntr -s ' ' < /proc/self/uid_map > \(c.out)/hook-map\n".write(
      toFile: hook, atomically: true, encoding: .utf8)
    chmod(hook, 0o755)
    c.spec.hooks = Spec.Hooks(createContainer: [Spec.Hook(path: hook)])
    let result = try c.run()
    #expect(result.status == 0, "\(result)")
    #expect(c.output("hook-uid") == "0\n")
    #expect(c.output("hook-map").trimmingCharacters(in: .whitespaces) == "0 100000 65536\n")
  }

  @Test func execJoinsTheUserNamespace() throws {
    let c = try userNamespaced("usernsexec", args: ["/bin/sleep", "1000"])
    defer { c.cleanup() }
    try c.writeConfig()
    #expect(c.crunFast("run", "--detach", "--bundle", c.bundle, c.id).status == 0)
    let result = c.crunFast("exec", c.id, "/bin/sh", "-c", "id -u; cat /proc/self/uid_map | tr -s ' '")
    #expect(result.status == 0, "\(result)")
    #expect(
      result.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) } == ["0", "0 100000 65536"])
  }

  @Test func namespacesAreJoinedByPath() throws {
    let first = try TestContainer("nsfirst", args: ["/bin/sleep", "1000"])
    defer { first.cleanup() }
    first.spec.hostname = "first"
    try first.writeConfig()
    let started = first.crunFast(
      "run", "--detach", "--pid-file", first.bundle + "/pid", "--bundle", first.bundle, first.id)
    try #require(started.status == 0, "\(started)")
    let pid = Int32((try? String(contentsOfFile: first.bundle + "/pid", encoding: .utf8)) ?? "") ?? 0

    let second = try TestContainer(
      "nssecond",
      args: ["/bin/sh", "-c", "hostname; cat /proc/1/cmdline | tr '\\0' ' '; echo; readlink /proc/self/ns/net"])
    defer { second.cleanup() }
    second.spec.hostname = nil
    for (i, namespace) in (second.spec.linux?.namespaces ?? []).enumerated()
    where ["uts", "network", "pid"].contains(namespace.type) {
      let name = namespace.type == "network" ? "net" : namespace.type
      second.spec.linux?.namespaces?[i].path = "/proc/\(pid)/ns/\(name)"
    }
    let result = try second.run()
    #expect(result.status == 0, "\(result)")
    let firstNet = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/ns/net")
    let hostNet = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/net")
    #expect(firstNet != hostNet)
    #expect(result.stdout == "first\n/bin/sleep 1000 \n\(firstNet)\n", "uts, pid and net of the first container")
  }
}
