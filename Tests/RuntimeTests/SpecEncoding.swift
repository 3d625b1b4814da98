import Foundation
import OCISpec

extension Spec {
  /// The configuration as JSONEncoder writes it (pretty, sorted keys): what `crun-fast spec` used to
  /// write. Only tests need it; crun-fast itself links no Foundation.
  func encoded() -> [UInt8] {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    // Encoding plain structs of strings and numbers cannot fail.
    return Array((try? encoder.encode(self)) ?? Data())
  }
}
