// Helpers for the runtime's integration tests: a throw-away bundle per test (a busybox rootfs made of
// one hard link and symlinks, a host directory bound at /out), the release crun-fast binary run as a
// child process, and cleanup that leaves no state, cgroup or bundle behind whatever the test did.
import Foundation
import OCISpec
import TestSupport
import Testing

enum Paths {
  /// crun-fast from the same build as this test bundle.
  static let binary: String = {
    let here = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    var dir = here.deletingLastPathComponent()
    for _ in 0..<4 {
      let candidate = dir.appendingPathComponent("crun-fast").path
      if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
      dir = dir.deletingLastPathComponent()
    }
    return "crun-fast"
  }()

  static let testRoot = "/run/crun-fast-tests"
  static let bundles = "/tmp/crun-fast-tests"
  /// Every test container's cgroup lives below this parent, which tests remove when empty.
  static let cgroupParent = "crun-fast-test"
}

typealias CommandResult = RunResult

/// Runs a program with stdout and stderr sent to files, not pipes: a created container inherits them and
/// would otherwise keep a pipe open long after crun-fast exits. Past `timeout` it is killed.
func runProcess(
  _ path: String, _ arguments: [String], timeout: Double = 60, onStart: ((Int32) -> Void)? = nil
) -> CommandResult {
  do {
    return try spawnAndWait(path, arguments, timeout: timeout, onStart: onStart)
  } catch {
    return CommandResult(status: -1, stdout: "", stderr: "\(error)")
  }
}

/// One test's container: its bundle, state root and id, and crun-fast pointed at them. The spec is
/// changed only before the container runs; helper threads only read, hence the unchecked Sendable.
final class TestContainer: @unchecked Sendable {
  let id: String
  let root: String
  let bundle: String
  var spec: Spec

  var rootfs: String { bundle + "/rootfs" }
  /// Host side of the container's /out, where probes write what they saw.
  var out: String { bundle + "/out" }

  /// `root` shares another container's state root (and with it, lazyfs image mounts).
  init(_ name: String, args: [String], root sharedRoot: String? = nil) throws {
    let unique = UUID().uuidString.prefix(8).lowercased()
    id = "\(name)-\(unique)"
    root = sharedRoot ?? "\(Paths.testRoot)/\(unique)"
    bundle = "\(Paths.bundles)/\(id)"
    spec = try Spec.decode(Array(Spec.defaultJSON.utf8))
    try Self.makeRootfs(bundle + "/rootfs")
    try FileManager.default.createDirectory(atPath: bundle + "/out", withIntermediateDirectories: true)
    spec.process?.args = args
    spec.hostname = "cf-test"
    spec.linux?.cgroupsPath = "\(Paths.cgroupParent)/\(id)"
    spec.mounts?.append(Spec.Mount(destination: "/out", type: "bind", source: out, options: ["rbind", "rw"]))
  }

  /// A busybox rootfs: the static binary hard-linked (or copied) in, a symlink per applet.
  static func makeRootfs(_ path: String) throws {
    let fm = FileManager.default
    for dir in ["bin", "proc", "sys", "dev", "tmp", "etc", "root"] {
      try fm.createDirectory(atPath: "\(path)/\(dir)", withIntermediateDirectories: true)
    }
    chmod(path + "/tmp", 0o1777)
    if link("/bin/busybox", path + "/bin/busybox") != 0 {
      try fm.copyItem(atPath: "/bin/busybox", toPath: path + "/bin/busybox")
    }
    for applet in Self.applets where applet != "busybox" {
      try fm.createSymbolicLink(atPath: "\(path)/bin/\(applet)", withDestinationPath: "busybox")
    }
    try "root:x:0:0:root:/root:/bin/sh\n".write(toFile: path + "/etc/passwd", atomically: true, encoding: .utf8)
    try "root:x:0:\n".write(toFile: path + "/etc/group", atomically: true, encoding: .utf8)
  }

  static let applets: [String] = {
    let result = runProcess("/bin/busybox", ["--list"])
    return result.stdout.split(separator: "\n").map(String.init)
  }()

  func writeConfig() throws {
    try Data(spec.encoded()).write(to: URL(fileURLWithPath: bundle + "/config.json"))
  }

  /// `crun-fast --root ROOT ARGS…`
  @discardableResult
  func crunFast(_ arguments: String..., timeout: Double = 60, onStart: ((Int32) -> Void)? = nil) -> CommandResult {
    runProcess(Paths.binary, ["--root", root] + arguments, timeout: timeout, onStart: onStart)
  }

  /// Writes the config and runs the container in the foreground.
  func run(timeout: Double = 60) throws -> CommandResult {
    try writeConfig()
    return crunFast("run", "--bundle", bundle, id, timeout: timeout)
  }

  func output(_ name: String) -> String {
    (try? String(contentsOfFile: out + "/" + name, encoding: .utf8)) ?? ""
  }

  /// The container's cgroup directories on the host, one per hierarchy that has it now.
  var cgroupDirectories: [String] {
    let base = "/sys/fs/cgroup"
    let hierarchies = ((try? FileManager.default.contentsOfDirectory(atPath: base)) ?? []).map { "\(base)/\($0)" }
    return (hierarchies + [base]).map { "\($0)/\(Paths.cgroupParent)/\(id)" }.filter {
      FileManager.default.fileExists(atPath: $0)
    }
  }

  var stateDirectoryExists: Bool { FileManager.default.fileExists(atPath: "\(root)/\(id)") }

  /// Whether any mount on the host still refers to this test's bundle.
  var hostMountsLeft: Bool {
    ((try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? "").contains(bundle)
  }

  /// Force-deletes the container and removes everything the test made. Safe to call twice.
  func cleanup() {
    crunFast("delete", "--force", id, timeout: 20)
    // A lazy root delete failed to unmount: detach it, so removing the state cannot reach into it.
    let table = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
    for line in table.split(separator: "\n").reversed() {
      let fields = line.split(separator: " ")
      if fields.count > 4, fields[4].hasPrefix(root + "/") { umount2(String(fields[4]), Int32(MNT_DETACH)) }
    }
    for dir in cgroupDirectories { rmdir(dir) }
    removeCgroupParents()
    try? FileManager.default.removeItem(atPath: root)
    try? FileManager.default.removeItem(atPath: bundle)
  }
}

/// Removes the tests' cgroup parent in every hierarchy once no test container is left in it.
func removeCgroupParents() {
  let base = "/sys/fs/cgroup"
  let hierarchies = ((try? FileManager.default.contentsOfDirectory(atPath: base)) ?? []).map { "\(base)/\($0)" }
  for dir in (hierarchies + [base]).map({ "\($0)/\(Paths.cgroupParent)" }) { rmdir(dir) }
}

/// Lines of /proc/self/status inside a container, e.g. `status["CapEff"]`.
func statusFields(_ text: String) -> [String: String] {
  var out: [String: String] = [:]
  for line in text.split(separator: "\n") {
    let parts = line.split(separator: ":", maxSplits: 1)
    if parts.count == 2 { out[String(parts[0])] = parts[1].trimmingCharacters(in: .whitespaces) }
  }
  return out
}
