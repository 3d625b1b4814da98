// Mount targets resolved inside the root filesystem: symlinks followed, never out of the root.
import Foundation
import Runtime
import TestSupport
import Testing

@Suite("SecureJoin")
struct SecureJoinTests {
  /// A root with `proc -> /etc` (absolute), `up -> ../../..`, `rel -> etc/sub`, a loop `a -> b -> a`, and
  /// `dev` a plain directory.
  func makeRoot() throws -> TempDir {
    let dir = try TempDir("securejoin")
    let root = dir.path
    let fm = FileManager.default
    try fm.createDirectory(atPath: root + "/etc/sub", withIntermediateDirectories: true)
    try fm.createDirectory(atPath: root + "/dev", withIntermediateDirectories: true)
    try fm.createSymbolicLink(atPath: root + "/proc", withDestinationPath: "/etc")
    try fm.createSymbolicLink(atPath: root + "/up", withDestinationPath: "../../..")
    try fm.createSymbolicLink(atPath: root + "/rel", withDestinationPath: "etc/sub")
    try fm.createSymbolicLink(atPath: root + "/a", withDestinationPath: "b")
    try fm.createSymbolicLink(atPath: root + "/b", withDestinationPath: "a")
    return dir
  }

  @Test func symlinksAreFollowedInsideTheRoot() throws {
    let dir = try makeRoot()
    defer { dir.remove() }
    let root = dir.path
    let join = SecureJoin(root: root)
    // An absolute link is taken relative to the root, never the host's /etc.
    #expect(join.resolve("/proc/sys") == root + "/etc/sys")
    #expect(join.resolve("proc") == root + "/etc")
    // `..`, through a link or not, stops at the root.
    #expect(join.resolve("/up/etc/passwd") == root + "/etc/passwd")
    #expect(join.resolve("/../../../etc") == root + "/etc")
    #expect(join.resolve("/rel/x") == root + "/etc/sub/x")
    #expect(join.resolve("/dev/./null") == root + "/dev/null")
    #expect(join.resolve("/") == root)
    // A loop ends (after 255 links) inside the root instead of spinning.
    #expect(join.resolve("/a/x").hasPrefix(root + "/"))
  }

  /// A resolver remembers what it looked at; a fresh one sees a change made since.
  @Test func oneResolverPerPlanRemembersLinks() throws {
    let dir = try makeRoot()
    defer { dir.remove() }
    let root = dir.path
    let join = SecureJoin(root: root)
    #expect(join.resolve("/dev/pts") == root + "/dev/pts")
    #expect(join.resolve("/dev/shm") == root + "/dev/shm")
    try FileManager.default.removeItem(atPath: root + "/dev")
    try FileManager.default.createSymbolicLink(atPath: root + "/dev", withDestinationPath: "/etc")
    #expect(join.resolve("/dev/mqueue") == root + "/dev/mqueue")
    #expect(SecureJoin.resolve(root: root, "/dev/mqueue") == root + "/etc/mqueue")
  }
}
