/// One JSON object being mapped onto a struct by hand (config.json, state.json, OCI image manifests). Each
/// look-up checks the member's type and throws a `JSONFieldError` naming the field's path the way users
/// read it (`linux.resources.memory.limit`, `linux.namespaces[2].type`, `manifests[0].digest`); the caller
/// says which document it was (`SpecError`, `ImportError`).
///
/// The rules are Codable's: members not asked for are ignored; null for an optional field means absent;
/// a required member that is absent is "required field is missing"; numbers must fit the field's type.
public struct JSONFields: Sendable {
  public let object: JSONObject
  /// The object's own path; empty for the document.
  public let path: String

  /// `value` as an object, or a type error naming `path`.
  public init(_ value: JSONValue, path: String) throws(JSONFieldError) {
    guard case .object(let object) = value else { throw JSONValue.mismatch(value, "an object", path) }
    self.object = object
    self.path = path
  }

  /// The path of member `key`.
  public func path(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

  /// The member's value; nil when it is absent or null.
  public func value(_ key: String) -> JSONValue? {
    guard let value = object[key], value != .null else { return nil }
    return value
  }

  /// The member's value, which must be there and not null.
  public func required(_ key: String, _ expected: String) throws(JSONFieldError) -> JSONValue {
    guard let value = object[key] else { throw JSONFieldError(field: path(key), "required field is missing") }
    if value == .null { throw JSONFieldError(field: path(key), "expected \(expected), found null") }
    return value
  }

  public func string(_ key: String) throws(JSONFieldError) -> String {
    try required(key, "a string").string(at: path(key))
  }

  public func string(ifPresent key: String) throws(JSONFieldError) -> String? {
    guard let value = value(key) else { return nil }
    return try value.string(at: path(key))
  }

  public func bool(_ key: String) throws(JSONFieldError) -> Bool {
    try required(key, "true or false").bool(at: path(key))
  }

  public func bool(ifPresent key: String) throws(JSONFieldError) -> Bool? {
    guard let value = value(key) else { return nil }
    return try value.bool(at: path(key))
  }

  public func int32(_ key: String) throws(JSONFieldError) -> Int32 {
    Int32(try required(key, "a number").signed(at: path(key), min: Int64(Int32.min), max: Int64(Int32.max)))
  }

  public func int64(ifPresent key: String) throws(JSONFieldError) -> Int64? {
    guard let value = value(key) else { return nil }
    return try value.signed(at: path(key), min: .min, max: .max)
  }

  public func int64(_ key: String) throws(JSONFieldError) -> Int64 {
    try required(key, "a number").signed(at: path(key), min: .min, max: .max)
  }

  public func int(ifPresent key: String) throws(JSONFieldError) -> Int? {
    guard let value = value(key) else { return nil }
    return Int(try value.signed(at: path(key), min: Int64(Int.min), max: Int64(Int.max)))
  }

  public func uint32(_ key: String) throws(JSONFieldError) -> UInt32 {
    UInt32(try required(key, "a number").unsigned(at: path(key), max: UInt64(UInt32.max)))
  }

  public func uint32(ifPresent key: String) throws(JSONFieldError) -> UInt32? {
    guard let value = value(key) else { return nil }
    return UInt32(try value.unsigned(at: path(key), max: UInt64(UInt32.max)))
  }

  public func uint16(ifPresent key: String) throws(JSONFieldError) -> UInt16? {
    guard let value = value(key) else { return nil }
    return UInt16(try value.unsigned(at: path(key), max: UInt64(UInt16.max)))
  }

  public func uint64(_ key: String) throws(JSONFieldError) -> UInt64 {
    try required(key, "a number").unsigned(at: path(key), max: .max)
  }

  public func uint64(ifPresent key: String) throws(JSONFieldError) -> UInt64? {
    guard let value = value(key) else { return nil }
    return try value.unsigned(at: path(key), max: .max)
  }

  public func uint(_ key: String) throws(JSONFieldError) -> UInt {
    UInt(try required(key, "a number").unsigned(at: path(key), max: UInt64(UInt.max)))
  }

  /// An array of strings; a null element is an error, as for Codable's `[String]`.
  public func strings(_ key: String) throws(JSONFieldError) -> [String] {
    try required(key, "an array").strings(at: path(key))
  }

  public func strings(ifPresent key: String) throws(JSONFieldError) -> [String]? {
    guard let value = value(key) else { return nil }
    return try value.strings(at: path(key))
  }

  public func uint32s(ifPresent key: String) throws(JSONFieldError) -> [UInt32]? {
    guard let value = value(key) else { return nil }
    let field = path(key)
    var out: [UInt32] = []
    for (i, item) in try value.array(at: field).enumerated() {
      out.append(UInt32(try item.unsigned(at: "\(field)[\(i)]", max: UInt64(UInt32.max))))
    }
    return out
  }

  /// An object of strings (annotations, sysctl); the path of a bad value is `annotations.<key>`.
  public func stringMap(ifPresent key: String) throws(JSONFieldError) -> [String: String]? {
    guard let value = value(key) else { return nil }
    let fields = try JSONFields(value, path: path(key))
    var out: [String: String] = [:]
    for member in fields.object.members {
      out[member.key] = try member.value.string(at: fields.path(member.key))
    }
    return out
  }

  /// An optional nested object, mapped by `make` with its path.
  public func nested<T>(ifPresent key: String, _ make: (JSONValue, String) throws(JSONFieldError) -> T)
    throws(JSONFieldError) -> T?
  {
    guard let value = value(key) else { return nil }
    return try make(value, path(key))
  }

  public func nested<T>(_ key: String, _ make: (JSONValue, String) throws(JSONFieldError) -> T) throws(JSONFieldError)
    -> T
  {
    try make(try required(key, "an object"), path(key))
  }

  /// An optional array of objects, each mapped by `make` with its path `key[i]`.
  public func array<T>(ifPresent key: String, _ make: (JSONValue, String) throws(JSONFieldError) -> T)
    throws(JSONFieldError) -> [T]?
  {
    guard let value = value(key) else { return nil }
    let field = path(key)
    let items = try value.array(at: field)
    var out: [T] = []
    out.reserveCapacity(items.count)
    for (i, item) in items.enumerated() { out.append(try make(item, "\(field)[\(i)]")) }
    return out
  }
}

extension JSONValue {
  public static func mismatch(_ value: JSONValue, _ expected: String, _ field: String) -> JSONFieldError {
    JSONFieldError(field: field, "expected \(expected), found \(value.kind)")
  }

  public func string(at field: String) throws(JSONFieldError) -> String {
    guard case .string(let string) = self else { throw Self.mismatch(self, "a string", field) }
    return string
  }

  public func bool(at field: String) throws(JSONFieldError) -> Bool {
    guard case .bool(let bool) = self else { throw Self.mismatch(self, "true or false", field) }
    return bool
  }

  public func array(at field: String) throws(JSONFieldError) -> [JSONValue] {
    guard case .array(let items) = self else { throw Self.mismatch(self, "an array", field) }
    return items
  }

  public func strings(at field: String) throws(JSONFieldError) -> [String] {
    let items = try array(at: field)
    var out: [String] = []
    out.reserveCapacity(items.count)
    for (i, item) in items.enumerated() {
      guard case .string(let string) = item else { throw Self.mismatch(item, "a string", "\(field)[\(i)]") }
      out.append(string)
    }
    return out
  }

  /// A whole number within min...max; anything else names the range it had to be in.
  public func signed(at field: String, min: Int64, max: Int64) throws(JSONFieldError) -> Int64 {
    guard case .number(let number) = self else { throw Self.mismatch(self, "a number", field) }
    let range = JSONFieldError(field: field, "expected a number from \(min) to \(max), found \(number.text)")
    guard let (negative, magnitude) = number.integer else { throw range }
    if negative {
      guard magnitude <= min.magnitude else { throw range }
      return Int64(truncatingIfNeeded: 0 &- magnitude)
    }
    guard magnitude <= UInt64(max) else { throw range }
    return Int64(magnitude)
  }

  public func unsigned(at field: String, max: UInt64) throws(JSONFieldError) -> UInt64 {
    guard case .number(let number) = self else { throw Self.mismatch(self, "a number", field) }
    guard let (negative, magnitude) = number.integer, !negative, magnitude <= max else {
      throw JSONFieldError(field: field, "expected a number from 0 to \(max), found \(number.text)")
    }
    return magnitude
  }
}

/// A member of a JSON document that is missing, null or of the wrong type or range, by its path.
public struct JSONFieldError: Error, CustomStringConvertible, Sendable, Equatable {
  /// Dotted path of the offending field; empty for the document as a whole.
  public let field: String
  public let reason: String

  public init(field: String, _ reason: String) {
    self.field = field
    self.reason = reason
  }

  public var description: String { field.isEmpty ? reason : "\(field): \(reason)" }
}
