import StoreCatalog
import TOMLKit

/// Reads lazyfs.toml (see `NodeConfig` for its keys) with TOMLKit, a maintained TOML 1.0 parser (toml++).
/// Every mistake is one `NodeConfigError` naming the line and the key: a syntax error where the parser
/// saw it, a key that is not known (a typo must not be silently ignored), a value of the wrong type or out
/// of range.
public enum NodeConfigFile {
  public static func parse(_ text: String, file: String) throws(NodeConfigError) -> NodeConfig {
    let table: TOMLTable
    do { table = try TOMLTable(string: text) } catch let e as TOMLParseError {
      throw NodeConfigError(file: file, message: "line \(e.source.begin.line): \(e.description)")
    } catch {
      throw NodeConfigError(file: file, message: "\(error)")
    }
    let lines = KeyLines(text)
    func fail(_ key: String, _ why: String) -> NodeConfigError {
      NodeConfigError(file: file, message: "\(lines.prefix(key))key \(key): \(why)")
    }
    var config = NodeConfig()
    let known: [String: Set<String>] = [
      "": ["store", "remote", "prefetch"], "remote": ["url", "cache", "cache-max", "timeout"],
      "prefetch": ["enabled", "budget"],
    ]
    func check(_ t: TOMLTable, _ name: String) throws(NodeConfigError) {
      for key in t.keys where !(known[name]?.contains(key) ?? false) {
        let full = name.isEmpty ? key : "\(name).\(key)"
        throw fail(full, "unknown key (known here: \(known[name]!.sorted().joined(separator: ", ")))")
      }
    }
    func string(_ t: TOMLTable, _ key: String, _ full: String) throws(NodeConfigError) -> String? {
      guard let v = t[key] else { return nil }
      guard let s = v.string, !s.isEmpty else { throw fail(full, "expected a non-empty string") }
      return s
    }
    func size(_ t: TOMLTable, _ key: String, _ full: String) throws(NodeConfigError) -> Int64? {
      guard let v = t[key] else { return nil }
      if let n = v.int, n > 0 { return Int64(n) }
      if let s = v.string, let n = MountRequest.parseSize(s), n > 0 { return n }
      throw fail(full, "expected a positive size: bytes, or a string such as \"512M\" or \"20G\"")
    }
    func section(_ key: String) throws(NodeConfigError) -> TOMLTable? {
      guard let v = table[key] else { return nil }
      guard let t = v.table else { throw fail(key, "expected a table ([\(key)])") }
      return t
    }
    try check(table, "")
    config.store = try string(table, "store", "store")
    if let remote = try section("remote") {
      try check(remote, "remote")
      config.remoteURL = try string(remote, "url", "remote.url")
      if let url = config.remoteURL, !(url.hasPrefix("http://") || url.hasPrefix("https://")) {
        throw fail("remote.url", "expected an http:// or https:// URL, not \"\(url)\"")
      }
      config.remoteCache = try string(remote, "cache", "remote.cache")
      config.remoteCacheMaxBytes = try size(remote, "cache-max", "remote.cache-max")
      if let v = remote["timeout"] {
        guard let seconds = v.double ?? v.int.map(Double.init), seconds > 0, seconds <= 3600 else {
          throw fail("remote.timeout", "expected seconds, more than 0 and at most 3600")
        }
        config.remoteTimeoutSeconds = seconds
      }
    }
    if let prefetch = try section("prefetch") {
      try check(prefetch, "prefetch")
      if let v = prefetch["enabled"] {
        guard let b = v.bool else { throw fail("prefetch.enabled", "expected true or false") }
        config.prefetchEnabled = b
      }
      config.prefetchBudgetBytes = try size(prefetch, "budget", "prefetch.budget")
    }
    for (key, path) in [("store", config.store), ("remote.cache", config.remoteCache)] {
      if let path, !path.hasPrefix("/") { throw fail(key, "expected an absolute path, not \"\(path)\"") }
    }
    return config
  }
}

/// Where each key is defined in the text, for messages: `[table]` headers and `key =` lines, as a TOML
/// file written by hand has them (a key the scan cannot place is reported without a line).
struct KeyLines {
  private var lines: [String: Int] = [:]

  init(_ text: String) {
    var table = ""
    for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
      let line = raw.trimmingPrefix(while: { $0 == " " || $0 == "\t" })
      if line.hasPrefix("[") {
        table = String(line.dropFirst().prefix { $0 != "]" }).trimmingPrefix(" ").description
        if lines[table] == nil { lines[table] = n + 1 }
      } else if let equals = line.firstIndex(of: "=") {
        var key = String(line[..<equals])
        while key.hasSuffix(" ") || key.hasSuffix("\t") { key.removeLast() }
        key = key.replacing("\"", with: "")
        let full = table.isEmpty ? key : "\(table).\(key)"
        if lines[full] == nil { lines[full] = n + 1 }
      }
    }
  }

  /// "line N: " for `key`, or nothing.
  func prefix(_ key: String) -> String { lines[key].map { "line \($0): " } ?? "" }
}
