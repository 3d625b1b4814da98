// What `state`, `list --format json`, hooks and `spec` print, now written without Foundation: the same
// bytes JSONEncoder wrote, and documents that parse with the OCI fields.
import Foundation
import OCISpec
import Runtime
import Testing

@Suite("state and spec output")
struct StateOutputTests {
  static let states = [
    #"""
    {"ociVersion": "1.2.0", "id": "a", "pid": 42, "status": "running", "bundle": "/tmp/b \"q\"\\/x",
     "rootfs": "/tmp/b/rootfs", "created": "2026-01-02T03:04:05.123456789Z", "owner": "",
     "annotations": {"z": "1", "org.lazyfs.image": "busybox:latest", "\u00e9": "\ud83d\ude00\n\t\u0001"}}
    """#,
    #"""
    {"ociVersion": "1.0.2-dev", "id": "b", "pid": 0, "status": "stopped", "bundle": "/b", "rootfs": "/b/r",
     "created": "2026-01-02T03:04:05Z", "owner": "root", "annotations": {}}
    """#,
    #"""
    {"ociVersion": "1.0.2-dev", "id": "c", "pid": 1, "status": "created", "bundle": "/", "rootfs": "/r",
     "created": "2026-01-02T03:04:05Z", "owner": ""}
    """#,
  ]

  func encoder(_ formatting: JSONEncoder.OutputFormatting) -> JSONEncoder {
    let encoder = JSONEncoder()
    encoder.outputFormatting = formatting.union([.sortedKeys, .withoutEscapingSlashes])
    return encoder
  }

  /// Every format byte for byte as JSONEncoder wrote it, so scripts matching `"pid" : 42` keep working.
  @Test(arguments: states)
  func sameBytesAsJSONEncoder(_ text: String) throws {
    let state = try JSONDecoder().decode(OCIState.self, from: Data(text.utf8))
    #expect(state.json() == String(decoding: try encoder(.prettyPrinted).encode(state), as: UTF8.self))
    #expect(state.json(pretty: false) == String(decoding: try encoder([]).encode(state), as: UTF8.self))
    #expect(try JSONDecoder().decode(OCIState.self, from: Data(state.json().utf8)) == state)
  }

  @Test func listAndQuoting() throws {
    let states = try Self.states.map { try JSONDecoder().decode(OCIState.self, from: Data($0.utf8)) }
    #expect(OCIState.json(states) == String(decoding: try encoder([]).encode(states), as: UTF8.self))
    #expect(OCIState.json([]) == "[]")
    #expect(jsonQuoted("a \"b\"\\/c\n\u{1}é") == #""a \"b\"\\/c\n\u0001é""#)
  }

  /// A real container's `state`: valid JSON carrying the OCI state fields (plus runc's rootfs, created and
  /// owner), and `list --format json` the same document in an array.
  @Test func stateCommandPrintsOCIState() throws {
    let c = try TestContainer("stateout", args: ["/bin/sleep", "1000"])
    defer { c.cleanup() }
    try c.writeConfig()
    let create = c.crunFast("create", "--bundle", c.bundle, c.id)
    #expect(create.status == 0, "\(create)")
    defer { _ = c.crunFast("delete", "--force", c.id) }
    let result = c.crunFast("state", c.id)
    #expect(result.status == 0, "\(result)")
    let object = try #require(
      try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], "\(result)")
    #expect(Set(object.keys) == ["ociVersion", "id", "pid", "status", "bundle", "rootfs", "created", "owner"])
    #expect(object["ociVersion"] as? String == c.spec.ociVersion)
    #expect(object["id"] as? String == c.id)
    #expect(object["status"] as? String == "created")
    #expect((object["pid"] as? Int ?? 0) > 1)
    #expect(object["bundle"] as? String == c.bundle)
    #expect((object["created"] as? String)?.hasSuffix("Z") == true)
    let state = try JSONDecoder().decode(OCIState.self, from: Data(result.stdout.utf8))
    #expect(result.stdout == state.json() + "\n")

    let list = c.crunFast("list", "--format", "json")
    #expect(list.status == 0, "\(list)")
    let listed = try JSONDecoder().decode([OCIState].self, from: Data(list.stdout.utf8))
    #expect(listed == [state])
  }

  /// `spec` writes runc's default configuration: it decodes to `Spec.defaultJSON`'s spec, by hand and by
  /// JSONDecoder, and refuses to overwrite it.
  @Test func specCommandWritesDefault() throws {
    let dir = NSTemporaryDirectory() + "crun-fast-spec-\(getpid())"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let result = runProcess(Paths.binary, ["spec", "--bundle", dir])
    #expect(result.status == 0, "\(result)")
    let bytes = try #require(FileManager.default.contents(atPath: dir + "/config.json"))
    let expected = try Spec.decode(Array(Spec.defaultJSON.utf8))
    #expect(try Spec.decode(Array(bytes)) == expected)
    #expect(try JSONDecoder().decode(Spec.self, from: bytes) == expected)
    #expect(expected.process?.terminal == false && expected.root?.path == "rootfs")
    #expect(runProcess(Paths.binary, ["spec", "--bundle", dir]).status != 0, "an existing config.json is kept")
  }

  /// crun-fast links no Foundation (see Package.swift): its conformance records were scanned at every
  /// start. The static binary keeps its symbol table, so a mangled FoundationEssentials name would show.
  @Test func binaryLinksNoFoundation() throws {
    let binary = try #require(FileManager.default.contents(atPath: Paths.binary))
    #expect(binary.range(of: Data("20FoundationEssentials".utf8)) == nil)
  }
}
