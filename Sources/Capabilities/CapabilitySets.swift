import CCap
import Glibc

/// The five capability sets of a process as bit masks (bit N is capability N), ready for capset(2) and
/// prctl(2) in the container's init, which cannot call libcap after clone.
public struct CapabilitySets: Sendable, Equatable {
  public var effective: UInt64 = 0
  public var permitted: UInt64 = 0
  public var inheritable: UInt64 = 0
  public var bounding: UInt64 = 0
  public var ambient: UInt64 = 0

  public init() {}

  /// Resolves the names of each set (`CAP_SYS_ADMIN`, case-insensitive, `CAP_` optional) with libcap.
  /// A name libcap does not know is an error naming the set; a capability this kernel does not have
  /// (above `lastCapability`) is dropped, as runc does, so one config serves older kernels.
  public init(
    effective: [String], permitted: [String], inheritable: [String], bounding: [String], ambient: [String]
  ) throws(CapabilityError) {
    let last = Self.lastCapability
    func mask(_ names: [String], _ set: String) throws(CapabilityError) -> UInt64 {
      var bits: UInt64 = 0
      for name in names {
        let number = try Self.number(of: name, set: set)
        if number <= last { bits |= 1 << UInt64(number) }
      }
      return bits
    }
    self.effective = try mask(effective, "effective")
    self.permitted = try mask(permitted, "permitted")
    self.inheritable = try mask(inheritable, "inheritable")
    self.bounding = try mask(bounding, "bounding")
    self.ambient = try mask(ambient, "ambient")
  }

  /// The capability number of `name` per libcap, which knows every capability of its release. libcap reads
  /// a name only up to its first character that is not a letter or '_' (`CAP_SYS_ADMIN2` would be
  /// CAP_SYS_ADMIN, `CAP_KILL,CAP_CHOWN` CAP_KILL): such a name is refused here first, so that a typo in
  /// config.json is an error and never a capability granted.
  public static func number(of name: String, set: String = "") throws(CapabilityError) -> Int {
    var value: cap_value_t = 0
    let lowered = name.lowercased()
    let full = lowered.hasPrefix("cap_") ? lowered : "cap_" + lowered
    guard full.utf8.allSatisfy({ ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z")) || $0 == UInt8(ascii: "_") }),
      cap_from_name(full, &value) == 0, value >= 0, value < 64
    else {
      throw CapabilityError(set: set, name: name)
    }
    return Int(value)
  }

  /// The highest capability the running kernel knows (/proc/sys/kernel/cap_last_cap), from libcap.
  public static var lastCapability: Int {
    let bits = Int(cap_max_bits())
    return bits > 0 ? bits - 1 : 40
  }

  /// `CAP_CHOWN`-style names of the bits of `mask`, lowest first.
  public static func names(of mask: UInt64) -> [String] {
    (0..<64).compactMap { bit -> String? in
      guard mask & (1 << UInt64(bit)) != 0, let raw = cap_to_name(cap_value_t(bit)) else { return nil }
      defer { cap_free(raw) }
      return String(cString: raw).uppercased()
    }
  }
}

/// A capability name that libcap does not know.
public struct CapabilityError: Error, CustomStringConvertible, Sendable, Equatable {
  public let set: String
  public let name: String
  public var description: String {
    let field = set.isEmpty ? "process.capabilities" : "process.capabilities.\(set)"
    return "config.json: \(field): unknown capability \"\(name)\""
  }
}
