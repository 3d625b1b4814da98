import Foundation
// config.json through the hand-written mapping: the same Spec JSONDecoder gives, the same field paths in
// errors, every field of every type covered.
import JSON
import OCISpec
import Testing

@Suite("config.json mapping")
struct SpecJSONTests {
  /// Decoded the old way, Codable's, for comparison.
  func codable(_ bytes: [UInt8]) -> Spec? { try? JSONDecoder().decode(Spec.self, from: Data(bytes)) }

  func mapped(_ bytes: [UInt8]) throws -> Spec { try Spec(json: try JSONValue(parsing: bytes)) }

  func failure(_ json: JSONValue) -> SpecError? {
    do {
      _ = try Spec.decode(json.encoded())
      return nil
    } catch {
      return error
    }
  }

  @Test func defaultSpec() throws {
    let bytes = Array(Spec.defaultJSON.utf8)
    let spec = try Spec.decode(bytes)
    #expect(spec == codable(bytes))
    #expect(try Spec.decode(spec.encoded()) == spec)
    #expect(spec.process?.capabilities?.bounding?.count == 3)
  }

  @Test func everyFieldSet() throws {
    let bytes = Array(SpecFixtures.everyField.utf8)
    let spec = try Spec.decode(bytes)
    #expect(SpecFixtures.nilFields(spec).isEmpty, "the fixture leaves out \(SpecFixtures.nilFields(spec))")
    #expect(spec == codable(bytes))
    #expect(try Spec.decode(spec.encoded()) == spec)
    #expect(codable(spec.encoded()) == spec)
    #expect(spec.linux?.seccomp?.syscalls?[0].args?[0].value == UInt64.max)
    #expect(spec.linux?.devices?[0].major == Int64.min)
    #expect(spec.process?.rlimits?[0].hard == UInt64.max)
  }

  /// The hand-written encoders (hooks for state.json, seccomp for the program cache's key) leave no field out.
  @Test func encodersWriteEveryField() throws {
    let spec = try Spec.decode(Array(SpecFixtures.everyField.utf8))
    let hooks = try #require(spec.hooks)
    let seccomp = try #require(spec.linux?.seccomp)
    #expect(try Spec.Hooks(json: JSONValue(parsing: hooks.json.encoded()), path: "") == hooks)
    #expect(try Spec.Seccomp(json: JSONValue(parsing: seccomp.json.encoded()), path: "") == seccomp)
    #expect(try JSONDecoder().decode(Spec.Seccomp.self, from: Data(seccomp.json.encoded())) == seccomp)
  }

  @Test func unknownFieldsAreIgnoredAndNullIsAbsent() throws {
    var json = try JSONValue(parsing: Array(SpecFixtures.everyField.utf8))
    json = json.setting(["unknown"], .object(JSONObject([.init("deep", .array([.null, .bool(true)]))])))
    json = json.setting(["process", "x-vendor"], .string("ignored"))
    json = json.setting(["process", "terminal"], .null)
    json = json.setting(["linux", "resources"], .null)
    json = json.setting(["process", "user", "additionalGids"], .null)
    let spec = try Spec.decode(json.encoded())
    #expect(spec.process?.terminal == nil)
    #expect(spec.linux?.resources == nil)
    #expect(spec.process?.user.additionalGids == nil)
    #expect(spec == codable(json.encoded()))
  }

  /// A member of the every-field fixture replaced: where ("/"-separated, numbers index arrays), by what
  /// JSON (nil removes it), and the error expected.
  struct BadField: Sendable, CustomTestStringConvertible {
    let path: [String]
    let value: String?
    let error: SpecError

    init(_ path: String, _ value: String?, _ field: String, _ reason: String) {
      self.path = path.split(separator: "/").map(String.init)
      self.value = value
      error = SpecError(field: field, reason)
    }

    var testDescription: String { error.field }
  }

  static let badFields: [BadField] = [
    .init("process/user/uid", #""root""#, "process.user.uid", "expected a number, found a string"),
    .init("process/user/uid", "-1", "process.user.uid", "expected a number from 0 to 4294967295, found -1"),
    .init(
      "process/user/gid", "4294967296", "process.user.gid", "expected a number from 0 to 4294967295, found 4294967296"),
    .init("process/user/gid", "1.5", "process.user.gid", "expected a number from 0 to 4294967295, found 1.5"),
    .init(
      "process/user/additionalGids/1", #""x""#, "process.user.additionalGids[1]", "expected a number, found a string"),
    .init("process/cwd", nil, "process.cwd", "required field is missing"),
    .init("process/cwd", "null", "process.cwd", "expected a string, found null"),
    .init("process/user", nil, "process.user", "required field is missing"),
    .init("ociVersion", nil, "ociVersion", "required field is missing"),
    .init("process/args/0", "1", "process.args[0]", "expected a string, found 1"),
    .init("process/env", #""PATH=/bin""#, "process.env", "expected an array, found a string"),
    .init("process/terminal", #""yes""#, "process.terminal", "expected true or false, found a string"),
    .init("process/oomScoreAdj", "true", "process.oomScoreAdj", "expected a number, found true"),
    .init(
      "process/rlimits/0/soft", "-1", "process.rlimits[0].soft", "expected a number from 0 to \(UInt64.max), found -1"),
    .init("process", "[]", "process", "expected an object, found an array"),
    .init(
      "process/consoleSize/height", "-2", "process.consoleSize.height",
      "expected a number from 0 to \(UInt.max), found -2"),
    .init("linux/namespaces/2/type", "7", "linux.namespaces[2].type", "expected a string, found 7"),
    .init(
      "linux/resources/memory/limit", #""1G""#, "linux.resources.memory.limit", "expected a number, found a string"),
    .init(
      "linux/resources/memory/limit", "9223372036854775808", "linux.resources.memory.limit",
      "expected a number from \(Int64.min) to \(Int64.max), found 9223372036854775808"),
    .init("linux/resources/pids/limit", nil, "linux.resources.pids.limit", "required field is missing"),
    .init(
      "linux/seccomp/syscalls/0/args/0/value", "-1", "linux.seccomp.syscalls[0].args[0].value",
      "expected a number from 0 to \(UInt64.max), found -1"),
    .init("linux/seccomp/syscalls/0/names", nil, "linux.seccomp.syscalls[0].names", "required field is missing"),
    .init("linux/devices/0/fileMode", #""0666""#, "linux.devices[0].fileMode", "expected a number, found a string"),
    .init("linux/uidMappings/0/size", "null", "linux.uidMappings[0].size", "expected a number, found null"),
    .init(
      "linux/sysctl/net.ipv4.ip_forward", "true", "linux.sysctl.net.ipv4.ip_forward", "expected a string, found true"),
    .init("annotations/a", "1", "annotations.a", "expected a string, found 1"),
    .init("hooks/prestart/0/path", "null", "hooks.prestart[0].path", "expected a string, found null"),
  ]

  @Test(arguments: badFields)
  func wrongFieldsAreNamed(_ bad: BadField) throws {
    let value = try bad.value.map { try JSONValue(parsing: Array($0.utf8)) }
    let json = try JSONValue(parsing: Array(SpecFixtures.everyField.utf8)).setting(bad.path, value)
    #expect(failure(json) == bad.error)
    #expect(codable(json.encoded()) == nil, "JSONDecoder refuses it too")
  }

  @Test func duplicateMembersTheFirstWinsAsWithJSONDecoder() throws {
    var text = SpecFixtures.everyField
    text.removeLast()  // the closing brace
    text += #", "hostname": "second", "process": {"cwd": "/", "user": {"uid": 7, "gid": 0}, "args": ["/x"]}}"#
    let spec = try Spec.decode(Array(text.utf8))
    #expect(spec.hostname == "box")
    #expect(spec.process?.user.uid == 4_294_967_295)
    #expect(spec == codable(Array(text.utf8)))
  }

  @Test func notAnObjectOrNotJSON() throws {
    #expect(failure(.array([])) == SpecError(field: "", "expected an object, found an array"))
    #expect(throws: SpecError(field: "", "not valid JSON: unexpected end of input at line 1, column 32 (byte 31)")) {
      try Spec.decode(Array(#"{"ociVersion": "1", "process": "#.utf8))
    }
  }

  /// Numbers written with a fraction or exponent are whole numbers all the same, as JSONDecoder reads them.
  @Test(arguments: ["1000", "1000.0", "1e3", "1.000E+3", "10000e-1"])
  func wholeNumbersInOtherForms(_ literal: String) throws {
    let json = try JSONValue(parsing: Array(SpecFixtures.everyField.utf8))
      .setting(["process", "user", "uid"], try JSONValue(parsing: Array(literal.utf8)))
    let spec = try Spec.decode(json.encoded())
    #expect(spec.process?.user.uid == 1000)
    #expect(codable(json.encoded())?.process?.user.uid == 1000)
  }

  @Test func validationStillRuns() throws {
    let json = try JSONValue(parsing: Array(SpecFixtures.everyField.utf8)).setting(["process", "cwd"], .string("rel"))
    #expect(failure(json) == SpecError(field: "process.cwd", "must be an absolute path, got \"rel\""))
  }
}

extension JSONValue {
  /// A copy with the member or element at `path` replaced, or removed when `value` is nil. Numeric path
  /// components index arrays.
  func setting(_ path: [String], _ value: JSONValue?) -> JSONValue {
    guard let first = path.first else { return value ?? .null }
    let rest = Array(path.dropFirst())
    switch self {
    case .object(var object):
      if let i = object.members.firstIndex(where: { $0.key == first }) {
        if rest.isEmpty, value == nil {
          object.members.remove(at: i)
        } else {
          object.members[i].value = object.members[i].value.setting(rest, value)
        }
      } else if let value {
        object.members.append(.init(first, JSONValue.object(JSONObject()).setting(rest, value)))
      }
      return .object(object)
    case .array(var items):
      guard let i = Int(first), items.indices.contains(i) else { return self }
      if rest.isEmpty, value == nil { items.remove(at: i) } else { items[i] = items[i].setting(rest, value) }
      return .array(items)
    default:
      return self
    }
  }
}
