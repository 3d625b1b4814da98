// cgroup v2's device filter (an eBPF program generated from the device rules) and io limits. The
// program's logic is checked by running it in a small interpreter; then for real, on the cgroup2
// hierarchy at /sys/fs/cgroup/unified that this hybrid machine has beside its v1 controllers: the kernel
// runs a task's cgroup2 device program in addition to the v1 devices controller.
import Cgroups
import Foundation
import LinuxSystem
import OCISpec
import Runtime
import Testing

@Suite("cgroup v2 device rules")
struct DeviceRuleTests {
  @Test(
    arguments: [
      ("a", DeviceRule(allow: false, kind: .all)),
      ("a *:* rwm", DeviceRule(allow: false, kind: .all)),
      ("c 1:3 rwm", DeviceRule(allow: false, kind: .char, major: 1, minor: 3)),
      ("b *:* m", DeviceRule(allow: false, kind: .block, access: .mknod)),
      ("c 136:* rw", DeviceRule(allow: false, kind: .char, major: 136, access: [.read, .write])),
      ("c *:5 r", DeviceRule(allow: false, kind: .char, minor: 5, access: .read)),
    ])
  func parsesV1Rules(text: String, expected: DeviceRule) throws {
    #expect(try DeviceRule(allow: false, text) == expected)
  }

  @Test(arguments: ["", "x 1:3 rwm", "c 1:3", "c 1-3 rwm", "c 1:3 rwx", "c -1:3 rwm", "c 1:4294967295 r", "cc 1:3 r"])
  func refusesMalformedRules(text: String) {
    #expect(throws: CgroupError.self) { try DeviceRule(allow: true, text) }
  }

  /// The rules a container from `crun-fast spec` gets: deny all, then the standard devices.
  static let containerRules: [DeviceRule] = {
    let spec = try? Spec.decode(Array(Spec.defaultJSON.utf8))
    let resources = CgroupResources(spec?.linux?.resources, devices: MountPlan.defaultDevices)
    return resources.deviceRules.compactMap { try? DeviceRule(allow: $0.allow, $0.rule) }
  }()

  @Test(
    arguments: [
      (DeviceRequest(.char, 1, 3, .read, .write), true),  // /dev/null
      (DeviceRequest(.char, 1, 9, .read), true),  // /dev/urandom
      (DeviceRequest(.char, 5, 0, .read, .write), true),  // /dev/tty
      (DeviceRequest(.char, 136, 4, .read, .write), true),  // a pty
      (DeviceRequest(.char, 5, 2, .read, .write), true),  // /dev/ptmx
      (DeviceRequest(.char, 10, 200, .mknod), true),  // any char node may be made …
      (DeviceRequest(.char, 10, 200, .read, .write), false),  // … but not opened
      (DeviceRequest(.block, 8, 0, .mknod), true),
      (DeviceRequest(.block, 8, 0, .read), false),
      (DeviceRequest(.char, 1, 1, .read), false),  // /dev/mem
      (DeviceRequest(.block, 1, 3, .read), false),  // the type counts
      (DeviceRequest(.char, 1, 4, .read), false),
      (DeviceRequest(.char, 0, 3, .read), false),
    ])
  func containerProgramDecides(request: DeviceRequest, allowed: Bool) throws {
    #expect(Self.containerRules.count == 11)
    let program = DeviceFilter.program(Self.containerRules)
    try BPFCheck.validate(program)
    #expect(try BPFCheck.run(program, request) == allowed)
  }

  @Test func lastMatchingRuleWins() throws {
    let rules = try [
      DeviceRule(allow: false, "a"), DeviceRule(allow: true, "c 1:5 rwm"), DeviceRule(allow: false, "c 1:5 w"),
      DeviceRule(allow: true, "c 1:7 r"), DeviceRule(allow: true, "c 1:7 w"),
    ]
    let program = DeviceFilter.program(rules)
    try BPFCheck.validate(program)
    let cases: [(DeviceRequest, Bool)] = [
      (DeviceRequest(.char, 1, 5, .read), true),
      (DeviceRequest(.char, 1, 5, .write), false),
      // A deny that takes away part of the request refuses it, as v1 would.
      (DeviceRequest(.char, 1, 5, .read, .write), false),
      (DeviceRequest(.char, 1, 5, .mknod), true),
      (DeviceRequest(.char, 1, 7, .read), true),
      (DeviceRequest(.char, 1, 7, .write), true),
      (DeviceRequest(.char, 1, 7, .mknod), false),
      (DeviceRequest(.char, 1, 3, .read), false),
    ]
    for (request, allowed) in cases { #expect(try BPFCheck.run(program, request) == allowed, "\(request)") }
  }

  /// After a rule that matches everything nothing else can matter: the program stops there (the verifier
  /// refuses unreachable instructions).
  @Test func wildcardEndsTheProgram() throws {
    let allowAll = DeviceFilter.program([
      DeviceRule(allow: false, kind: .char, major: 1), DeviceRule(allow: true, kind: .all),
    ])
    try BPFCheck.validate(allowAll)
    #expect(allowAll.count == 6 + 2)
    #expect(allowAll.suffix(2).map(\.code) == [0xB7, 0x95] && allowAll[6].immediate == 1)
    #expect(try BPFCheck.run(allowAll, DeviceRequest(.char, 1, 1, .read)))

    let nothing = DeviceFilter.program([])
    #expect(nothing.count == 6 + 2 && nothing[6].immediate == 0)
    #expect(try !BPFCheck.run(nothing, DeviceRequest(.char, 1, 3, .read)))
  }

  @Test func instructionEncoding() {
    let load = BPFInstruction(code: 0x61, destination: 4, source: 1, offset: 4)
    #expect(load.bytes == [0x61, 0x14, 4, 0, 0, 0, 0, 0])
    let jump = BPFInstruction(code: 0x55, destination: 5, offset: -2, immediate: 0x0102_0304)
    #expect(jump.bytes == [0x55, 0x05, 0xFE, 0xFF, 4, 3, 2, 1])
  }
}

/// What the kernel asks a device program: `struct bpf_cgroup_dev_ctx`.
struct DeviceRequest: CustomStringConvertible, Sendable {
  var type: DeviceRule.Kind
  var major: UInt32
  var minor: UInt32
  var access: DeviceRule.Access

  init(_ type: DeviceRule.Kind, _ major: UInt32, _ minor: UInt32, _ access: DeviceRule.Access...) {
    (self.type, self.major, self.minor) = (type, major, minor)
    self.access = DeviceRule.Access(access)
  }

  var context: [UInt32] { [UInt32(type == .block ? 1 : 2) | UInt32(access.rawValue) << 16, major, minor] }
  var description: String { "\(type.rawValue) \(major):\(minor) access \(access.rawValue)" }
}

/// The verifier's structural checks (every jump forward and inside, every instruction reachable, no
/// falling off the end) and an interpreter for the instructions the generator uses.
enum BPFCheck {
  struct Failure: Error, CustomStringConvertible { var description: String }

  static func validate(_ program: [BPFInstruction]) throws {
    var reachable = Set([0])
    for (pc, insn) in program.enumerated() {
      guard reachable.contains(pc) else { throw Failure(description: "unreachable instruction \(pc)") }
      let isJump = insn.code & 0x07 == 0x05 && insn.code != 0x95
      if isJump {
        let target = pc + 1 + Int(insn.offset)
        guard insn.offset >= 0, target < program.count else { throw Failure(description: "bad jump at \(pc)") }
        reachable.insert(target)
      }
      if insn.code != 0x95 {
        guard pc + 1 < program.count else { throw Failure(description: "falls off the end") }
        reachable.insert(pc + 1)
      }
    }
  }

  static func run(_ program: [BPFInstruction], _ request: DeviceRequest) throws -> Bool {
    var r = [UInt64](repeating: 0, count: 11)
    var pc = 0
    let context = request.context
    while pc < program.count {
      let i = program[pc]
      let (d, s) = (Int(i.destination), Int(i.source))
      let imm = UInt64(bitPattern: Int64(i.immediate))
      var jump = false
      switch i.code {
      case 0x61:
        guard s == 1, i.offset % 4 == 0, (0..<3).contains(Int(i.offset) / 4) else {
          throw Failure(description: "bad load at \(pc)")
        }
        r[d] = UInt64(context[Int(i.offset) / 4])
      case 0x54: r[d] = (r[d] & imm) & 0xFFFF_FFFF
      case 0x74: r[d] = (r[d] & 0xFFFF_FFFF) >> imm
      case 0xBC: r[d] = r[s] & 0xFFFF_FFFF
      case 0xB7: r[d] = imm
      case 0x15: jump = r[d] == imm
      case 0x55: jump = r[d] != imm
      case 0x5D: jump = r[d] != r[s]
      case 0x95:
        guard r[0] <= 1 else { throw Failure(description: "returns \(r[0])") }
        return r[0] == 1
      default: throw Failure(description: "unknown opcode \(i.code) at \(pc)")
      }
      pc += 1 + (jump ? Int(i.offset) : 0)
    }
    throw Failure(description: "fell off the end")
  }
}

@Suite("cgroup v2 io")
struct CgroupV2IOTests {
  @Test func weightsAndThrottles() {
    var io = BlockIO(weight: 500, leafWeight: 300)
    io.weightDevices = [
      BlockIO.WeightDevice(major: 8, minor: 0, weight: 1000), BlockIO.WeightDevice(major: 8, minor: 16, leafWeight: 20),
    ]
    io.throttleReadBps = [BlockIO.DeviceRate(major: 8, minor: 0, rate: 1_048_576)]
    io.throttleWriteBps = [BlockIO.DeviceRate(major: 8, minor: 16, rate: 0)]
    io.throttleReadIOPS = [BlockIO.DeviceRate(major: 8, minor: 0, rate: 100)]
    io.throttleWriteIOPS = [BlockIO.DeviceRate(major: 8, minor: 0, rate: 50)]
    var resources = CgroupResources()
    resources.blockIO = io
    let files = CgroupV2.files(for: resources).map { "\($0.file)=\($0.value)" }
    #expect(
      files == [
        "io.weight=4950", "io.weight=8:0 10000", "io.max=8:0 rbps=1048576 riops=100 wiops=50",
        "io.max=8:16 wbps=max",
      ])
    let bfq = CgroupV2.files(for: resources, bfq: true).map { "\($0.file)=\($0.value)" }
    #expect(bfq.prefix(2) == ["io.bfq.weight=500", "io.bfq.weight=8:0 1000"])
    #expect(CgroupV2.controllers(for: resources) == ["io"])
  }

  @Test func weightScale() {
    #expect(CgroupV2.ioWeight(fromBlkioWeight: 10) == 1)
    #expect(CgroupV2.ioWeight(fromBlkioWeight: 1000) == 10000)
    #expect(CgroupV2.ioWeight(fromBlkioWeight: 100) == 910)
    #expect(CgroupV2.ioWeight(fromBlkioWeight: 5) == 1)
  }

  /// A leaf weight alone means nothing on v2: no io controller is asked for.
  @Test func leafWeightAloneNeedsNoController() {
    var resources = CgroupResources()
    resources.blockIO = BlockIO(leafWeight: 200)
    #expect(CgroupV2.files(for: resources).isEmpty)
    #expect(CgroupV2.controllers(for: resources).isEmpty)
    #expect(!resources.isEmpty)
  }
}

@Suite("cgroup v2 device programs (root, real cgroup2 hierarchy)")
struct CgroupV2DeviceTests {
  static let root = "/sys/fs/cgroup/unified"
  static var available: Bool { FileManager.default.fileExists(atPath: root + "/cgroup.procs") }

  /// A fresh cgroup below the tests' parent on the unified hierarchy, removed (with the parent, once
  /// empty) whatever `body` does.
  func withCgroup(_ name: String, _ body: (CgroupV2) throws -> Void) throws {
    let cgroup = CgroupV2(path: "\(Paths.cgroupParent)/\(name)-\(UUID().uuidString.prefix(8))", root: Self.root)
    defer {
      for pid in cgroup.processes() { kill(pid, SIGKILL) }
      try? cgroup.destroy()
      rmdir("\(Self.root)/\(Paths.cgroupParent)")
    }
    try cgroup.create(for: CgroupResources())
    try body(cgroup)
  }

  @Test(.enabled(if: available)) func programGuardsDevicesOfTasksInTheCgroup() throws {
    let probe = try Probe()
    defer { probe.remove() }
    try withCgroup("bpfdev") { cgroup in
      // Without a program the cgroup changes nothing: the probe can open everything.
      let before = try probe.run(joining: cgroup)
      #expect(before["full-r"] == "ok" && before["zero-w"] == "ok" && before["mknod-full"] == "ok", "\(before)")

      var resources = CgroupResources()
      resources.deviceRules = [(false, "a *:* rwm"), (true, "c 1:3 rwm"), (true, "c 1:5 r")]
      try cgroup.set(resources)
      #expect(try DeviceProgram.attached(to: cgroup.directory).count == 1)
      let after = try probe.run(joining: cgroup)
      #expect(after["null-rw"] == "ok", "\(after)")
      #expect(after["zero-r"] == "ok", "\(after)")
      #expect(after["zero-w"] == "EPERM", "\(after)")
      #expect(after["full-r"] == "EPERM", "\(after)")
      #expect(after["mknod-null"] == "ok", "\(after)")
      #expect(after["mknod-full"] == "EPERM", "\(after)")

      // A process outside the cgroup is not affected.
      let outside = try probe.run(joining: nil)
      #expect(outside["full-r"] == "ok", "\(outside)")
    }
  }

  /// set() again replaces the program rather than adding a second one that would still refuse.
  @Test(.enabled(if: available)) func setAgainReplacesTheProgram() throws {
    let probe = try Probe()
    defer { probe.remove() }
    try withCgroup("bpfset") { cgroup in
      var resources = CgroupResources()
      resources.deviceRules = [(false, "a *:* rwm"), (true, "c 1:3 rwm")]
      try cgroup.set(resources)
      let first = try DeviceProgram.attached(to: cgroup.directory)
      #expect(try probe.run(joining: cgroup)["full-r"] == "EPERM")

      resources.deviceRules.append((true, "c 1:7 r"))
      try cgroup.set(resources)
      let second = try DeviceProgram.attached(to: cgroup.directory)
      #expect(second.count == 1 && second != first, "\(first) → \(second)")
      let result = try probe.run(joining: cgroup)
      #expect(result["full-r"] == "ok" && result["zero-r"] == "EPERM", "\(result)")
    }
  }

  /// A program the verifier refuses fails with the command, the errno and the verifier's log.
  @Test(.enabled(if: available)) func refusedProgramReportsTheVerifierLog() throws {
    try withCgroup("bpfbad") { cgroup in
      // Returns without setting r0.
      let program = [BPFInstruction(code: 0x95)]
      do {
        try DeviceProgram.install(program, in: cgroup.directory)
        Issue.record("the verifier accepted a program that returns an unset register")
      } catch let error as BPFError {
        #expect(error.command == "BPF_PROG_LOAD" && error.errno.rawValue == EACCES, "\(error)")
        #expect(error.verifierLog?.contains("R0") == true, "\(error)")
        #expect("\(error)".hasPrefix("bpf(BPF_PROG_LOAD): EACCES"))
      }
      #expect(try DeviceProgram.attached(to: cgroup.directory).isEmpty)
    }
  }

  /// A whole container on cgroup v2 (CRUN_FAST_CGROUP2_ROOT points the runtime at the unified
  /// hierarchy): born into its cgroup2 directory, it can use its standard devices but not open another
  /// device node, which a configuration rule then allows.
  @Test(.enabled(if: available)) func containerOnCgroupV2() throws {
    let script = """
      grep '^0::' /proc/self/cgroup; echo hi > /dev/null && echo null-ok; head -c 4 /dev/urandom | wc -c
      if (exec 3<>/out/tun); then echo tun-ok; fi
      """
    for allowTun in [false, true] {
      let c = try TestContainer("cgv2", args: ["/bin/sh", "-c", script])
      defer { c.cleanup() }
      // The misc device of /dev/net/tun, made on the host in the directory bound at /out.
      #expect(mknod(c.out + "/tun", S_IFCHR | 0o666, dev_t(DeviceNumber.make(10, 200))) == 0)
      if allowTun {
        let rule = #"{"allow": true, "type": "c", "major": 10, "minor": 200, "access": "rw"}"#
        c.spec.linux?.resources?.devices?.append(try JSONDecoder().decode(Spec.DeviceRule.self, from: Data(rule.utf8)))
      }
      try c.writeConfig()
      let result = runProcess(
        "/usr/bin/env",
        ["CRUN_FAST_CGROUP2_ROOT=\(Self.root)", Paths.binary, "--root", c.root, "run", "--bundle", c.bundle, c.id])
      #expect(result.status == 0, "\(result)")
      #expect(result.stdout.contains("0::/\(Paths.cgroupParent)/\(c.id)\n"), "\(result)")
      #expect(result.stdout.contains("null-ok\n4\n"), "\(result)")
      if allowTun {
        #expect(result.stdout.contains("tun-ok") && !result.stderr.contains("Operation not permitted"), "\(result)")
      } else {
        #expect(!result.stdout.contains("tun-ok") && result.stderr.contains("Operation not permitted"), "\(result)")
      }
      #expect(!FileManager.default.fileExists(atPath: "\(Self.root)/\(Paths.cgroupParent)/\(c.id)"))
    }
  }
}

/// A small C program that moves itself into a cgroup (writing 0 to its cgroup.procs) and then tries
/// device opens and mknods, printing `name=ok` or `name=ERRNO` for each.
struct Probe {
  let directory: String
  var binary: String { directory + "/probe" }

  init() throws {
    directory = "/tmp/crun-fast-tests/probe-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let source = """
      #define _GNU_SOURCE
      #include <errno.h>
      #include <fcntl.h>
      #include <stdio.h>
      #include <string.h>
      #include <sys/stat.h>
      #include <sys/sysmacros.h>
      #include <unistd.h>
      static void report(const char *name, int ok) { printf("%s=%s\\n", name, ok ? "ok" : strerrorname_np(errno)); }
      static void try_open(const char *name, const char *path, int flags) {
        int fd = open(path, flags);
        report(name, fd >= 0);
        if (fd >= 0) close(fd);
      }
      static void try_mknod(const char *name, const char *dir, unsigned minor) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, name);
        unlink(path);
        report(name, mknod(path, S_IFCHR | 0600, makedev(1, minor)) == 0);
        unlink(path);
      }
      int main(int argc, char **argv) {
        if (argc != 3) return 2;
        if (argv[1][0]) {
          FILE *f = fopen(argv[1], "w");
          if (!f || fprintf(f, "0") < 0 || fclose(f) != 0) { perror(argv[1]); return 3; }
        }
        try_open("null-rw", "/dev/null", O_RDWR);
        try_open("zero-r", "/dev/zero", O_RDONLY);
        try_open("zero-w", "/dev/zero", O_WRONLY);
        try_open("full-r", "/dev/full", O_RDONLY);
        try_mknod("mknod-null", argv[2], 3);
        try_mknod("mknod-full", argv[2], 7);
        return 0;
      }
      """
    try source.write(toFile: binary + ".c", atomically: true, encoding: .utf8)
    let result = runProcess("/usr/bin/cc", ["-O1", "-o", binary, binary + ".c"])
    guard result.status == 0 else { throw BPFCheck.Failure(description: "cc: \(result)") }
  }

  /// Runs the probe, first joining `cgroup` (or staying where it is); its `name=result` lines.
  func run(joining cgroup: CgroupV2?) throws -> [String: String] {
    let procs = cgroup.map { $0.directory + "/cgroup.procs" } ?? ""
    let result = runProcess(binary, [procs, directory])
    guard result.status == 0 else { throw BPFCheck.Failure(description: "probe: \(result)") }
    var out: [String: String] = [:]
    for line in result.stdout.split(separator: "\n") {
      let parts = line.split(separator: "=", maxSplits: 1)
      if parts.count == 2 { out[String(parts[0])] = String(parts[1]) }
    }
    return out
  }

  func remove() { try? FileManager.default.removeItem(atPath: directory) }
}
