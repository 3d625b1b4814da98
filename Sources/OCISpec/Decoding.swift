import FoundationEssentials

extension Spec {
  /// Decodes and validates config.json. Decoding errors are turned into `SpecError`s that name the field.
  public static func decode(_ bytes: [UInt8]) throws(SpecError) -> Spec {
    let spec: Spec
    do {
      spec = try JSONDecoder().decode(Spec.self, from: Data(bytes))
    } catch let error as DecodingError {
      throw SpecError(decoding: error)
    } catch {
      throw SpecError(field: "", "\(error)")
    }
    try spec.validate()
    return spec
  }

  /// The configuration as pretty-printed JSON, the way `crun-fast spec` writes it.
  public func encoded() -> [UInt8] {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    // Encoding plain structs of strings and numbers cannot fail.
    return Array((try? encoder.encode(self)) ?? Data())
  }
}

extension SpecError {
  init(decoding error: DecodingError) {
    func path(_ keys: [any CodingKey]) -> String {
      var out = ""
      for key in keys {
        if let index = key.intValue {
          out += "[\(index)]"
        } else {
          out += out.isEmpty ? key.stringValue : "." + key.stringValue
        }
      }
      return out
    }
    switch error {
    case .typeMismatch(let type, let context):
      self.init(field: path(context.codingPath), "expected \(Self.describe(type)): \(context.debugDescription)")
    case .valueNotFound(let type, let context):
      self.init(field: path(context.codingPath), "expected \(Self.describe(type)), found null")
    case .keyNotFound(let key, let context):
      self.init(field: path(context.codingPath + [key]), "required field is missing")
    case .dataCorrupted(let context):
      if context.codingPath.isEmpty {
        self.init(field: "", "not valid JSON: \(context.underlyingError.map { "\($0)" } ?? context.debugDescription)")
      } else {
        self.init(field: path(context.codingPath), context.debugDescription)
      }
    @unknown default:
      self.init(field: "", "\(error)")
    }
  }

  private static func describe(_ type: Any.Type) -> String {
    switch type {
    case is String.Type: "a string"
    case is Bool.Type: "true or false"
    case is UInt32.Type, is UInt64.Type, is Int.Type, is Int64.Type, is UInt16.Type: "a number"
    default: "\(type)"
    }
  }
}
