import ArgumentParser
import Glibc

/// `lazyfs mount` and `lazyfs umount` are on a container's start and delete path (crun-fast runs them for
/// a lazyfs root), where starting ArgumentParser — its reflection over every command's options and the
/// Swift runtime's type lookups and conformance scans that come with it — was a quarter of the CPU of
/// starting `lazyfs`. A command line of the usual shape is read here instead: known long options, each
/// with its value after `=` or as the next argument, flags, and the positional arguments (after `--`,
/// everything is one). Anything else — help, a short option, an unknown or repeated option, a value that
/// looks like an option or is not a number where one is wanted, the wrong number of arguments — returns
/// nil, and ArgumentParser reads it, with the same result or its usual error.
enum FastPath {
  static func command(_ arguments: [String]) -> (() throws -> Void)? {
    switch arguments.first {
    case "mount": return mount(Array(arguments.dropFirst()))
    case "umount": return umount(Array(arguments.dropFirst()))
    default: return nil
    }
  }

  /// Options taking a value, flags, and the positional arguments, or nil for anything unusual.
  static func split(_ arguments: [String], options: Set<String>, flags: Set<String>)
    -> (values: [String: String], flags: Set<String>, positional: [String])?
  {
    var values: [String: String] = [:]
    var set: Set<String> = []
    var positional: [String] = []
    var i = 0
    var onlyPositional = false
    while i < arguments.count {
      let argument = arguments[i]
      i += 1
      if onlyPositional || !argument.hasPrefix("-") {
        positional.append(argument)
        continue
      }
      if argument == "--" {
        onlyPositional = true
        continue
      }
      guard argument.hasPrefix("--") else { return nil }
      var name = String(argument.dropFirst(2))
      var value: String?
      if let equals = name.firstIndex(of: "=") {
        value = String(name[name.index(after: equals)...])
        name = String(name[..<equals])
      }
      if flags.contains(name), value == nil {
        guard set.insert(name).inserted else { return nil }
      } else if options.contains(name) {
        if value == nil {
          guard i < arguments.count, !arguments[i].hasPrefix("-") else { return nil }
          value = arguments[i]
          i += 1
        }
        guard values[name] == nil, let value, !value.isEmpty else { return nil }
        values[name] = value
      } else {
        return nil
      }
    }
    return (values, set, positional)
  }

  static func mount(_ arguments: [String]) -> (() throws -> Void)? {
    guard
      let (values, flags, positional) = split(
        arguments, options: ["store", "log-file", "cache-mib", "readahead-kb", "remote", "cache", "cache-max"],
        flags: ["foreground", "allow-other", "setuid", "no-io-uring"]),
      positional.count == 2
    else { return nil }
    var options = MountOptions(
      store: StoreOptions.path(values["store"]), image: positional[0], mountpoint: positional[1])
    if let text = values["cache-mib"] {
      guard let n = Int(text) else { return nil }
      options.cacheMib = n
    }
    if let text = values["readahead-kb"] {
      guard let n = Int(text) else { return nil }
      options.readaheadKb = n
    }
    options.logFile = values["log-file"]
    options.remote = values["remote"]
    if let cache = values["cache"] { options.cache = cache }
    if let cacheMax = values["cache-max"] { options.cacheMax = cacheMax }
    options.foreground = flags.contains("foreground")
    options.allowOther = flags.contains("allow-other")
    options.setuid = flags.contains("setuid")
    options.noIoUring = flags.contains("no-io-uring")
    return { try options.run() }
  }

  static func umount(_ arguments: [String]) -> (() throws -> Void)? {
    guard let (_, flags, positional) = split(arguments, options: [], flags: ["lazy"]), positional.count == 1 else {
      return nil
    }
    return { try Umount.unmount(positional[0], lazy: flags.contains("lazy")) }
  }

  /// Runs `command` and exits as ArgumentParser's `main` would: 0, or the status of an `ExitCode`.
  static func run(_ command: () throws -> Void) -> Never {
    do {
      try command()
      exit(0)
    } catch let code as ExitCode {
      exit(code.rawValue)
    } catch {
      printError("lazyfs: \(error)")
      exit(1)
    }
  }
}
