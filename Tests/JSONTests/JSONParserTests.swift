// The JSON parser on its own: what RFC 8259 allows is read exactly, everything else refused with a position.
import JSON
import Testing

@Suite("JSON parser")
struct JSONParserTests {
  func parse(_ text: String) throws(JSONError) -> JSONValue { try JSONValue(parsing: Array(text.utf8)) }

  func parseString(_ literal: String) throws -> String {
    let value = try parse(literal)
    guard case .string(let string) = value else {
      Issue.record("not a string: \(value)")
      return ""
    }
    return string
  }

  func failure(_ bytes: [UInt8]) -> JSONError? {
    do {
      _ = try JSONValue(parsing: bytes)
      return nil
    } catch {
      return error
    }
  }

  func failure(_ text: String) -> JSONError? { failure(Array(text.utf8)) }

  @Test func documentShapes() throws {
    let value = try parse(" {\"a\": [1, -2.5e3, true, false, null, \"x\"], \"b\": {}, \"c\": []}\r\n\t")
    let expected = JSONValue.object(
      JSONObject([
        .init(
          "a",
          .array([
            .number(JSONNumber(UInt64(1))), try parse("-2.5e3"), .bool(true), .bool(false), .null, .string("x"),
          ])),
        .init("b", .object(JSONObject())), .init("c", .array([])),
      ]))
    #expect(value == expected)
    #expect(try parse("\"top-level scalar\"") == .string("top-level scalar"))
    #expect(try parse("\u{FEFF}[]") == .array([]), "a leading byte order mark is skipped")
  }

  @Test func duplicateKeysTheFirstWins() throws {
    guard case .object(let object) = try parse(#"{"a": 1, "a": 2}"#) else { Issue.record("not an object"); return }
    #expect(object["a"] == .number(JSONNumber(UInt64(1))))
    #expect(object.members.count == 2)
  }

  @Test(arguments: [
    (#""\"\\\/\b\f\n\r\t""#, "\"\\/\u{8}\u{C}\n\r\t"),
    (#""\u0041\u00e9\u00E9\u4e2d""#, "Aéé中"),
    (#""\ud83d\ude00 after""#, "😀 after"),
    (#""\uD834\uDD1E""#, "𝄞"),
    (#""plain é 中 😀""#, "plain é 中 😀"),
    (#""\u0000""#, "\u{0}"),
    (#""""#, ""),
  ])
  func escapes(_ literal: String, _ expected: String) throws {
    #expect(try parseString(literal) == expected)
  }

  @Test(arguments: [
    (#""\ud83d""#, "unpaired UTF-16 high surrogate"),
    (#""\ud83d\u0041""#, "unpaired UTF-16 high surrogate"),
    (#""\ud83dx""#, "unpaired UTF-16 high surrogate"),
    (#""\ude00""#, "unpaired UTF-16 low surrogate"),
    (#""\x""#, "invalid escape"),
    (#""\u12""#, "four hex digits"),
    (#""\u12G4""#, "four hex digits"),
    ("\"tab\there\"", "unescaped control character"),
    ("\"new\nline\"", "unescaped control character"),
    (#""open"#, "unterminated string"),
    (#""open\"#, "unterminated string"),
  ])
  func badStrings(_ literal: String, _ reason: String) {
    let error = failure(literal)
    #expect(error?.reason.contains(reason) == true, "\(String(describing: error))")
  }

  @Test func invalidUTF8IsRefused() throws {
    #expect(failure([0x22, 0xC3, 0x28, 0x22])?.reason == "string is not valid UTF-8")
    #expect(failure([0x22, 0xED, 0xA0, 0x80, 0x22])?.reason == "string is not valid UTF-8", "an encoded surrogate")
    #expect(failure([0x22, 0x5C, 0x6E, 0xFF, 0x22])?.reason == "string is not valid UTF-8", "after an escape")
    for bad: [UInt8] in [[0xC0, 0x80], [0xE0, 0x80, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82], [0x80], [0xF8]] {
      #expect(failure([0x22] + bad + [0x22])?.reason == "string is not valid UTF-8", "\(bad)")
    }
    // The edges of each range are characters: U+0080, U+07FF, U+0800, U+D7FF, U+E000, U+FFFF, U+10000, U+10FFFF.
    let edges = "\u{80}\u{7FF}\u{800}\u{D7FF}\u{E000}\u{FFFF}\u{10000}\u{10FFFF}"
    #expect(try JSONValue(parsing: Array("\"\(edges)\"".utf8)) == .string(edges))
  }

  @Test func integersAtTheLimits() throws {
    func integer(_ text: String) throws -> (Bool, UInt64)? {
      guard case .number(let number) = try parse(text) else { return nil }
      return number.integer.map { ($0.negative, $0.magnitude) }
    }
    #expect(try integer("18446744073709551615")! == (false, UInt64.max))
    #expect(try integer("-9223372036854775808")! == (true, 1 << 63))
    #expect(try integer("18446744073709551616") == nil, "UInt64.max + 1")
    #expect(try integer("-18446744073709551616") == nil)
    #expect(try integer("1.0")! == (false, 1))
    #expect(try integer("1e3")! == (false, 1000))
    #expect(try integer("12.50e1")! == (false, 125))
    #expect(try integer("1.5") == nil)
    #expect(try integer("1e-1") == nil)
    #expect(try integer("1e20") == nil)
    #expect(try integer("1e999999999999") == nil)
    #expect(try integer("0e999999999999")! == (false, 0))
    #expect(try integer("-0")! == (false, 0))
    #expect(try integer("1844674407370955161.5e1")! == (false, 18_446_744_073_709_551_615))
    #expect(try integer("123456789012345678901234567890") == nil)
    #expect(
      try parse("123456789012345678901234567890.5e-7").kind == "123456789012345678901234567890.5e-7", "kept as text")
  }

  @Test(arguments: ["01", "-", "-01", "1.", ".5", "+1", "1e", "1e+", "0x10", "1.e3", "NaN", "Infinity", "--1"])
  func badNumbers(_ text: String) {
    #expect(failure(text) != nil, "\(text)")
  }

  @Test func nestingIsLimited() throws {
    let depth = JSONValue.maximumDepth
    _ = try parse(String(repeating: "[", count: depth) + String(repeating: "]", count: depth))
    _ = try parse(String(repeating: "{\"a\":", count: depth) + "1" + String(repeating: "}", count: depth))
    let deep = String(repeating: "[", count: depth + 1) + String(repeating: "]", count: depth + 1)
    #expect(failure(deep)?.reason == "nested deeper than 512 levels")
    // Far deeper than any stack would take, refused at the limit without recursing further.
    let hostile = String(repeating: "[", count: 1_000_000)
    #expect(failure(hostile)?.offset == depth)
  }

  @Test(arguments: ["{} x", "[1]]", "1 2", "{}{}", "null,", "\"a\"\"b\"", "[] \u{0}"])
  func trailingGarbage(_ text: String) {
    #expect(failure(text)?.reason.contains("after the document") == true, "\(text)")
  }

  @Test func everyTruncationIsRefused() {
    let document = Array(#"{"a": [1, 2.5, {"b": "c\u00e9\n"}], "t": true, "f": false, "n": null}"#.utf8)
    for length in 0..<document.count {
      #expect(failure(Array(document[..<length])) != nil, "\(length) bytes")
    }
    #expect(failure(document) == nil)
  }

  @Test(arguments: ["", " ", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "[1 2]", "tru", "nul", "True", "'a'", "{,}"])
  func malformed(_ text: String) {
    #expect(failure(text) != nil, "\(text)")
  }

  @Test func errorsSayWhere() throws {
    let error = try #require(failure("{\n  \"a\": 1,\n  \"b\": x\n}"))
    #expect(error.line == 3)
    #expect(error.column == 8)
    #expect(error.offset == 19)
    #expect(error.description == "unexpected 'x' at line 3, column 8 (byte 19)")
    #expect(failure("[1, 2")?.reason == "unexpected end of input")
  }

  @Test func rawBuffersParseAsArraysDo() throws {
    let bytes = Array(#"{"k": ["v", 1]}"#.utf8)
    let fromBuffer = try bytes.withUnsafeBytes { try JSONValue(parsing: $0) }
    #expect(fromBuffer == (try JSONValue(parsing: bytes)))
  }

  @Test func encodedTextParsesBack() throws {
    let value = JSONValue.object(
      JSONObject([
        .init("quote\"back\\slash/", .string("ctl \u{0}\u{1}\u{1F}\n\r\t\u{7F} é 😀")),
        .init("numbers", .array([.number(JSONNumber(Int64.min)), .number(JSONNumber(UInt64.max))])),
        .init("nested", .array([.object(JSONObject()), .array([]), .null, .bool(true), .bool(false)])),
      ]))
    let bytes = value.encoded()
    #expect(try JSONValue(parsing: bytes) == value)
    #expect(!bytes.contains(UInt8(ascii: "\n")), "compact")
    #expect(String(decoding: JSONValue.string("a/b\u{1}").encoded(), as: UTF8.self) == #""a/b\u0001""#)
  }
}

/// Numbers and key order as lazyfs's `--json` output writes them.
@Suite struct JSONBuildingTests {
  @Test(
    arguments: [
      (2.0, "2"), (0.25, "0.25"), (-3.0, "-3"), (1e-05, "1e-05"), (123456.5, "123456.5"), (Double.nan, "0"),
      (Double.infinity, "0"), (1e300, "1e+300"),
    ] as [(Double, String)])
  func doublesAreWrittenAsJSONEncoderWritesThem(_ value: Double, _ text: String) throws {
    #expect(JSONNumber(value).text == text)
    // Whatever is written parses back as JSON, and as the same number.
    let parsed = try JSONValue(parsing: Array(text.utf8))
    #expect(parsed == .number(JSONNumber(value)))
    if value.isFinite { #expect(JSONNumber(value).double == value) }
  }

  @Test func keysAreSortedAtEveryLevel() {
    let value = JSONValue.object(
      JSONObject([
        .init("b", .int(1)), .init("a", .array([.object(JSONObject([.init("z", .null), .init("y", .bool(true))]))])),
      ]))
    #expect(String(decoding: value.sortingKeys().encoded(), as: UTF8.self) == #"{"a":[{"y":true,"z":null}],"b":1}"#)
  }

  @Test func fieldsReadDoublesAndRequiredArrays() throws {
    let json = try JSONValue(parsing: Array(#"{"x": 1.5, "n": 3, "list": [{"k": "v"}], "s": "t"}"#.utf8))
    let f = try JSONFields(json, path: "doc")
    #expect(try f.double("x") == 1.5 && f.double("n") == 3)
    #expect(throws: JSONFieldError(field: "doc.s", "expected a number, found a string")) { try f.double("s") }
    #expect(
      try f.array("list") { v, p throws(JSONFieldError) in try JSONFields(v, path: p).string("k") } == ["v"])
    #expect(throws: JSONFieldError(field: "doc.missing", "required field is missing")) {
      try f.array("missing") { v, p throws(JSONFieldError) in try JSONFields(v, path: p).string("k") }
    }
    #expect(throws: JSONFieldError(field: "doc.list[0].k", "expected a number, found a string")) {
      try f.array("list") { v, p throws(JSONFieldError) in try JSONFields(v, path: p).double("k") }
    }
  }
}
