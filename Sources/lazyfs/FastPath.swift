import ArgumentParser
import Glibc
import StoreCatalog

/// `lazyfs mount` and `lazyfs umount` are on a container's start and delete path (crun-fast runs them for
/// a lazyfs root), where starting ArgumentParser — its reflection over every command's options and the
/// Swift runtime's type lookups and conformance scans that come with it — was a quarter of the CPU of
/// starting `lazyfs`. A command line of the usual shape is read here instead, by `MountRequest`, the
/// same code that wrote it in crun-fast or in the mount's parent. Anything unusual returns nil, and
/// ArgumentParser reads it, with the same result or its usual error.
enum FastPath {
  static func command(_ arguments: [String]) -> (() throws -> Void)? {
    switch arguments.first {
    case "mount": return mount(Array(arguments.dropFirst()))
    case "umount": return umount(Array(arguments.dropFirst()))
    default: return nil
    }
  }

  /// `MountRequest` reads the usual shape of its own arguments.
  static func mount(_ arguments: [String]) -> (() throws -> Void)? {
    guard let request = MountRequest(arguments: arguments) else { return nil }
    return { try Mount.run(request) }
  }

  static func umount(_ arguments: [String]) -> (() throws -> Void)? {
    guard let (_, flags, positional) = MountRequest.split(arguments, options: [], flags: ["lazy"]),
      positional.count == 1
    else {
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
