import Foundation
// state.json written and read by hand: the same document Codable writes and reads, so a state file
// from either reads back equal.
import JSON
import OCISpec
import Runtime
import Testing

@Suite("state.json mapping")
struct StateJSONTests {
  /// `full` sets every field (odd characters included), `minimal` none of the optional ones. ContainerState has no
  /// public memberwise initializer, so Codable builds the expected values.
  static let full = #"""
    {"ociVersion": "1.2.0", "id": "full", "pid": 2147483647, "startTime": 18446744073709551615,
     "bundle": "/tmp/b \"q\"\\", "rootfs": "/tmp/b/rootfs", "created": "2026-01-02T03:04:05.123456789Z",
     "annotations": {"org.lazyfs.image": "busybox:latest", "\u00e9": "\ud83d\ude00\n"}, "cgroupVersion": "v2",
     "cgroupPath": "crun-fast/full", "ownPidNamespace": true,
     "hooks": {"prestart": [{"path": "/bin/a", "args": ["a"], "env": ["X=1"], "timeout": 5}],
               "poststop": [{"path": "/bin/b"}]},
     "lazyImage": "sha256:abc"}
    """#

  static let minimal = #"""
    {"ociVersion": "1.0.2-dev", "id": "min", "pid": 1, "startTime": 0, "bundle": "/b", "rootfs": "/b/rootfs",
     "created": "2026-01-02T03:04:05Z", "cgroupVersion": "v1", "ownPidNamespace": false}
    """#

  func codable(_ text: String) throws -> ContainerState {
    try JSONDecoder().decode(ContainerState.self, from: Data(text.utf8))
  }

  @Test(arguments: [full, minimal])
  func roundTripsAndMatchesCodable(_ text: String) throws {
    let state = try codable(text)
    #expect(try ContainerState(json: try JSONValue(parsing: Array(text.utf8))) == state)
    let ours = state.json.encoded()
    #expect(try ContainerState(json: try JSONValue(parsing: ours)) == state)
    #expect(try JSONDecoder().decode(ContainerState.self, from: Data(ours)) == state, "Codable reads ours")
    let theirs = Array(try JSONEncoder().encode(state))
    #expect(try ContainerState(json: try JSONValue(parsing: theirs)) == state, "we read Codable's")
    #expect(try keys(ours) == keys(theirs), "the same members")
  }

  func keys(_ bytes: [UInt8]) throws -> [String] {
    guard case .object(let object) = try JSONValue(parsing: bytes) else { return [] }
    return object.members.map(\.key).sorted()
  }

  @Test func storeSavesAndLoads() throws {
    let root = NSTemporaryDirectory() + "statejson-\(getpid())"
    defer { try? FileManager.default.removeItem(atPath: root) }
    let store = StateStore(root: root)
    let state = try codable(Self.full)
    let lock = try store.claim(state.id)
    defer { lock.release() }
    try store.save(state)
    #expect(try store.load(state.id) == state)
    try Data("{\"id\": 1}".utf8).write(to: URL(fileURLWithPath: root + "/full/state.json"))
    #expect(throws: RuntimeError("\(root)/full/state.json: ociVersion: required field is missing")) {
      try store.load(state.id)
    }
  }
}
