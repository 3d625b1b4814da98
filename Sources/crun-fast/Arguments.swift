import Glibc
import Runtime

/// runc's argument conventions by hand (ArgumentParser's start-up cost would show in every start): flags
/// with one or two dashes, values as `--flag value` or `--flag=value`, flags and positionals in any order.
struct Arguments {
  private var items: [String]

  init(_ items: [String]) { self.items = items }

  /// The next item, whatever it is (used for the verb).
  mutating func next() -> String? { items.isEmpty ? nil : items.removeFirst() }

  /// Global flags come before the verb: stops at the first item that is not a flag.
  mutating func globals(_ parse: (String, () throws -> String) throws -> Bool) throws {
    while let first = items.first, first.hasPrefix("-"), first != "-", !Self.isVersion(first) {
      items.removeFirst()
      let (name, inline) = Self.split(first)
      let value = { () throws -> String in
        if let inline { return inline }
        guard !self.items.isEmpty else { throw UsageError("flag --\(name) needs a value") }
        return self.items.removeFirst()
      }
      guard try parse(name, value) else { throw UsageError("unknown global flag \(first)") }
    }
  }

  /// A verb's flags and positionals. `valued` names the flags that take a value (aliases included).
  mutating func verb(valued: Set<String>, boolean: Set<String>) throws -> (
    flags: [String: String], positional: [String]
  ) {
    var flags: [String: String] = [:]
    var positional: [String] = []
    while !items.isEmpty {
      let item = items.removeFirst()
      if item == "--" {
        positional += items
        items.removeAll()
      } else if item.hasPrefix("-"), item != "-", Int(item) == nil || item.hasPrefix("--") {
        let (name, inline) = Self.split(item)
        if valued.contains(name) {
          if let inline {
            flags[name] = inline
          } else {
            guard !items.isEmpty else { throw UsageError("flag --\(name) needs a value") }
            flags[name] = items.removeFirst()
          }
        } else if boolean.contains(name) {
          flags[name] = inline ?? "true"
        } else {
          throw UsageError("unknown flag \(item)")
        }
      } else {
        positional.append(item)
      }
    }
    return (flags, positional)
  }

  /// `exec`'s form: flags up to the container id, then everything after it verbatim (the command and its
  /// own flags). A flag in `repeated` may be given many times; its values are collected in order.
  mutating func verbUntilPositional(valued: Set<String>, repeated: Set<String>, boolean: Set<String>) throws -> (
    flags: [String: String], multi: [String: [String]], positional: [String]
  ) {
    var flags: [String: String] = [:]
    var multi: [String: [String]] = [:]
    while let item = items.first {
      if item == "--" {
        items.removeFirst()
        break
      }
      guard item.hasPrefix("-"), item != "-" else { break }
      items.removeFirst()
      let (name, inline) = Self.split(item)
      if valued.contains(name) {
        let value: String
        if let inline {
          value = inline
        } else {
          guard !items.isEmpty else { throw UsageError("flag --\(name) needs a value") }
          value = items.removeFirst()
        }
        flags[name] = value
        if repeated.contains(name) { multi[name, default: []].append(value) }
      } else if boolean.contains(name) {
        flags[name] = inline ?? "true"
      } else {
        throw UsageError("unknown flag \(item)")
      }
    }
    let positional = items
    items.removeAll()
    return (flags, multi, positional)
  }

  private static func isVersion(_ item: String) -> Bool { item == "--version" || item == "-v" }

  private static func split(_ item: String) -> (String, String?) {
    let bare = item.drop { $0 == "-" }
    if let eq = bare.firstIndex(of: "=") { return (String(bare[..<eq]), String(bare[bare.index(after: eq)...])) }
    return (String(bare), nil)
  }
}

/// Bad command-line usage: exit status 1 like every other error, but no log entry is worth more.
struct UsageError: Error, CustomStringConvertible {
  let description: String
  init(_ description: String) { self.description = description }
}

/// Flags that apply to every verb.
struct Globals {
  /// The runtime over `--root`, logging as `--log` and `--log-format` say.
  var runtime: Runtime {
    let globals = self
    return Runtime(root: root, logHandler: { _ in OutputLogHandler(globals) })
  }

  var root = "/run/crun-fast"
  var log: String?
  var logFormat = "text"
  var debug = false
  var verb = ""

  static func parse(_ arguments: inout Arguments) throws -> Globals {
    var globals = Globals()
    try arguments.globals { name, value in
      switch name {
      case "root": globals.root = try value()
      case "log": globals.log = try value()
      case "log-format":
        globals.logFormat = try value()
        guard ["text", "json"].contains(globals.logFormat) else {
          throw UsageError("--log-format must be text or json")
        }
      case "debug": globals.debug = true
      case "systemd-cgroup": throw UsageError("--systemd-cgroup is not supported")
      case "help", "h":
        Output.write(1, Usage.text)
        exit(0)
      default: return false
      }
      return true
    }
    return globals
  }
}

extension Dictionary where Key == String, Value == String {
  /// The value of a flag given under any of its names.
  func value(_ names: String...) -> String? { names.lazy.compactMap { self[$0] }.first }
  func isSet(_ names: String...) -> Bool { names.contains { self[$0] == "true" } }
}

/// Exactly one positional argument, the container id.
func containerID(_ positional: [String], verb: String) throws -> String {
  guard positional.count == 1 else {
    throw UsageError("\(verb) needs exactly one container id, got \(positional.count) arguments")
  }
  return positional[0]
}
