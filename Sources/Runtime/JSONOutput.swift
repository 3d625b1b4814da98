import JSON
import OCISpec

// Written with the JSON module's writer rather than JSONEncoder, so crun-fast links no Foundation: its
// thousands of protocol conformances were scanned at every start. The members are those Codable wrote,
// in the same (sorted) order, and `state` prints them in JSONEncoder's pretty format as before.

extension OCIState {
  /// The state document, members sorted by name as JSONEncoder's `.sortedKeys` wrote them.
  public var jsonValue: JSONValue {
    var object = JSONObject()
    object.append(
      "annotations",
      annotations.map { map in
        .object(JSONObject(map.sorted { $0.key < $1.key }.map { JSONObject.Member($0.key, .string($0.value)) }))
      })
    object.append("bundle", .string(bundle))
    object.append("created", .string(created))
    object.append("id", .string(id))
    object.append("ociVersion", .string(ociVersion))
    object.append("owner", .string(owner))
    object.append("pid", .number(JSONNumber(Int64(pid))))
    object.append("rootfs", .string(rootfs))
    object.append("status", .string(status.rawValue))
    return .object(object)
  }

  /// Pretty-printed JSON as `state` prints it, or compact as hooks read it on stdin.
  public func json(pretty: Bool = true) -> String {
    String(decoding: pretty ? jsonValue.prettyEncoded() : jsonValue.encoded(), as: UTF8.self)
  }

  /// A JSON array of states, as `list --format json` prints it.
  public static func json(_ states: [OCIState]) -> String {
    String(decoding: JSONValue.array(states.map(\.jsonValue)).encoded(), as: UTF8.self)
  }
}

/// A string as a JSON string literal, for log lines.
public func jsonQuoted(_ text: String) -> String {
  String(decoding: JSONValue.string(text).encoded(), as: UTF8.self)
}
