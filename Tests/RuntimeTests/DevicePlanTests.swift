// Device nodes in the container's /dev as MountPlan plans them: which devices, made how, or bound from
// the host in a user namespace. Plain values; the root tests show the nodes work.
import OCISpec
import Runtime
import Testing

/// MountPlan.devices: the devices every container gets, and the configuration's, which win by path.
@Suite("Device nodes (no root)")
struct DevicePlanTests {
  typealias F = MountFlag
  let r = PlanFixtures.rootfs

  @Test func defaultsThenConfiguredReplacingByPath() throws {
    var spec = try PlanFixtures.defaultSpec()
    #expect(MountPlan(spec: spec, rootfs: r, bundle: "/b").devices == MountPlan.defaultDevices)
    #expect(
      MountPlan.defaultDevices.map(\.path) == [
        "/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty",
      ])
    let fuse = Spec.Device(type: "c", path: "/dev/fuse", major: 10, minor: 229, fileMode: 0o600, uid: 0, gid: 0)
    let null = Spec.Device(type: "c", path: "/dev/null", major: 1, minor: 3, fileMode: 0o600, uid: 7, gid: 8)
    spec.linux?.devices = [fuse, null]
    let devices = MountPlan(spec: spec, rootfs: r, bundle: "/b").devices
    #expect(
      devices.map(\.path) == [
        "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty", "/dev/fuse", "/dev/null",
      ])
    #expect(devices.last == null)
  }

  /// Each node is made with its type's file bits, its mode, number and owner.
  @Test func nodesAreMadeWithTypeModeAndOwner() throws {
    var spec = try PlanFixtures.minimal()
    spec.linux?.devices = [
      Spec.Device(type: "c", path: "/dev/fuse", major: 10, minor: 229, fileMode: 0o4660, uid: 5, gid: 6),
      Spec.Device(type: "b", path: "/dev/vda", major: 253, minor: 0),
      Spec.Device(type: "p", path: "/dev/pipes/fifo", fileMode: 0o600),
      Spec.Device(type: "u", path: "/dev/u", major: 4, minor: 64),
    ]
    let steps = try PlanFixtures.steps(spec)
    let nodes = steps.filter { $0.kind == .mknod }
    #expect(nodes.count == 6 + 4)
    #expect(
      Array(nodes.suffix(4)) == [
        Steps.mknod("\(r)/dev/fuse", Steps.charDevice, 0o4660, 10, 229, uid: 5, gid: 6),
        Steps.mknod("\(r)/dev/vda", Steps.blockDevice, 0o666, 253, 0),
        Steps.mknod("\(r)/dev/pipes/fifo", Steps.fifo, 0o600, 0, 0),
        // "u" (unbuffered character) is a character device.
        Steps.mknod("\(r)/dev/u", Steps.charDevice, 0o666, 4, 64),
      ])
    // Each node's directory is made first.
    let fifo = try #require(steps.firstIndex { $0.target == "\(r)/dev/pipes/fifo" })
    #expect(steps[fifo - 1] == Steps.mkdir("\(r)/dev/pipes"))
  }

  /// In a user namespace mknod is not allowed: the host's node is bound over an empty file.
  @Test func userNamespaceBindsHostNodes() throws {
    var spec = try PlanFixtures.defaultSpec()
    spec.linux?.namespaces?.append(Spec.Namespace(type: "user"))
    let steps = try PlanFixtures.steps(spec)
    #expect(!steps.contains { $0.kind == .mknod })
    let null = try #require(steps.firstIndex { $0.target == "\(r)/dev/null" })
    #expect(
      Array(steps[null..<null + 2]) == [
        Steps.mkfile("\(r)/dev/null"), Steps.mount("/dev/null", "\(r)/dev/null", nil, F.bind),
      ])
    #expect(steps.filter { $0.kind == .mkfile }.count == 6)
  }

  /// /dev bound from the host brings its own nodes and links: none are made.
  @Test func devBoundFromTheHostGetsNoNodes() throws {
    var spec = try PlanFixtures.defaultSpec()
    spec.mounts?.removeAll { $0.destination.hasPrefix("/dev") }
    spec.mounts?.append(Spec.Mount(destination: "/dev", type: "bind", source: "/dev", options: ["rbind"]))
    let steps = try PlanFixtures.steps(spec)
    #expect(!steps.contains { $0.kind == .mknod || $0.kind == .symlink })
    #expect(steps.contains(Steps.mount("/dev", "\(r)/dev", nil, F.bind | F.recursive)))
  }
}
