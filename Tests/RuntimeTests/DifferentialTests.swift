// The same bundle under runc and crun-fast: what the container sees must be the same.
import Foundation
import OCISpec
import Testing

@Suite("Differential against runc (root)")
struct DifferentialTests {
  static let runc: String? = ["/usr/sbin/runc", "/usr/bin/runc", "/usr/local/sbin/runc"].first {
    FileManager.default.isExecutableFile(atPath: $0)
  }

  /// Probes whose output does not depend on the runtime: ids, pid, hostname, devices, mount points and
  /// types, capabilities, no_new_privs, limits, environment.
  static let probes = """
    echo "pid $$"; hostname; id; ls /dev | tr '\\n' ' '; echo
    awk '{ for (i = 1; i <= NF; i++) if ($i == "-") { print $5, $(i+1); break } }' /proc/self/mountinfo | sort
    grep -E '^(Cap|NoNewPrivs|Seccomp:)' /proc/self/status; ulimit -n; umask; pwd; env | sort
    touch /x 2>&1; cat /proc/keys | wc -c
    """

  @Test(.enabled(if: runc != nil, "runc is not installed"))
  func sameViewAsRunc() throws {
    let c = try TestContainer("diff", args: ["/bin/sh", "-c", Self.probes])
    defer { c.cleanup() }
    c.spec.process?.env = ["PATH=/bin", "TERM=xterm", "FOO=1"]
    c.spec.process?.rlimits = [Spec.Rlimit(type: "RLIMIT_NOFILE", hard: 512, soft: 256)]
    let ours = try c.run()
    #expect(ours.status == 0, "\(ours)")
    let runcRoot = c.root + "-runc"
    defer {
      _ = runProcess(Self.runc!, ["--root", runcRoot, "delete", "--force", c.id + "-runc"])
      try? FileManager.default.removeItem(atPath: runcRoot)
    }
    let theirs = runProcess(Self.runc!, ["--root", runcRoot, "run", "--bundle", c.bundle, c.id + "-runc"])
    #expect(theirs.status == 0, "\(theirs)")
    let ourLines = ours.stdout.split(separator: "\n")
    let theirLines = theirs.stdout.split(separator: "\n")
    #expect(ourLines.count > 20)
    for (a, b) in zip(ourLines, theirLines) { #expect(a == b) }
    #expect(ourLines.count == theirLines.count, "crun-fast:\n\(ours.stdout)\nrunc:\n\(theirs.stdout)")
  }
}
