/// Building JSON from Swift values and reading numbers back as Swift numbers, for lazyfs's `--json` output
/// and its statistics, written and read with the same code as config.json and state.json.
extension JSONNumber {
  public init(_ value: Int) { self.init(Int64(value)) }

  /// A finite double as JSONEncoder writes it: a whole value without a fraction (`2`), others in Swift's
  /// shortest round-tripping form (`0.25`, `1e-05`). Not finite: 0 (JSON has no NaN or infinity).
  public init(_ value: Double) {
    if !value.isFinite {
      self.init(validated: "0")
    } else if value == value.rounded(), abs(value) < 1e15 {
      self.init(validated: String(Int64(value)))
    } else {
      self.init(validated: "\(value)")
    }
  }

  /// The value as a double, when the text reads as one.
  public var double: Double? { Double(text) }
}

extension JSONValue {
  public static func int(_ value: Int) -> JSONValue { .number(JSONNumber(value)) }
  public static func int(_ value: Int64) -> JSONValue { .number(JSONNumber(value)) }
  public static func double(_ value: Double) -> JSONValue { .number(JSONNumber(value)) }

  /// The same value with every object's members sorted by name, recursively, as JSONEncoder's
  /// `.sortedKeys` writes them: output that diffs cleanly from one run to the next.
  public func sortingKeys() -> JSONValue {
    switch self {
    case .array(let items): .array(items.map { $0.sortingKeys() })
    case .object(let object):
      .object(
        JSONObject(
          object.members.sorted { $0.key < $1.key }.map { JSONObject.Member($0.key, $0.value.sortingKeys()) }))
    default: self
    }
  }
}

extension JSONFields {
  public func double(_ key: String) throws(JSONFieldError) -> Double {
    let value = try required(key, "a number")
    guard case .number(let number) = value, let double = number.double else {
      throw JSONValue.mismatch(value, "a number", path(key))
    }
    return double
  }

  public func double(ifPresent key: String) throws(JSONFieldError) -> Double? {
    guard value(key) != nil else { return nil }
    return try double(key)
  }

  /// A required array of objects, each mapped by `make` with its path `key[i]`.
  public func array<T>(_ key: String, _ make: (JSONValue, String) throws(JSONFieldError) -> T) throws(JSONFieldError)
    -> [T]
  {
    _ = try required(key, "an array")
    return try array(ifPresent: key, make) ?? []
  }
}
