import JSON

extension Spec {
  /// Decodes and validates config.json. Errors are `SpecError`s that name the field at fault.
  ///
  /// Parsed by `JSONValue` and mapped by hand (SpecJSON.swift) rather than with JSONDecoder, whose
  /// generic machinery cost about 1 ms of every container start.
  public static func decode(_ bytes: [UInt8]) throws(SpecError) -> Spec {
    let json: JSONValue
    do {
      json = try JSONValue(parsing: bytes)
    } catch {
      throw SpecError(field: "", "not valid JSON: \(error)")
    }
    let spec: Spec
    do {
      spec = try Spec(json: json)
    } catch {
      throw SpecError(error)
    }
    try spec.validate()
    return spec
  }
}
