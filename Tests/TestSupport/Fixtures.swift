import Foundation
import LinuxSystem

/// Where the fixtures are (`make fixtures` builds them), and whether one is there.
public enum Fixture {
  public static let root = ProcessInfo.processInfo.environment["LAZYFS_FIXTURES"] ?? "/var/cache/lazyfs-fixtures"
  public static func path(_ relative: String) -> String { "\(root)/\(relative)" }
  public static func available(_ name: String) -> Bool { Files.exists("\(root)/\(name)/.done") }
}

/// The `lazyfs` binary under test: `$LAZYFS_BIN/lazyfs` (set by `make test`), else the release build.
public let lazyfsBinary: String = {
  let env = ProcessInfo.processInfo.environment
  let dir = env["LAZYFS_BIN"] ?? FileManager.default.currentDirectoryPath + "/.build/release"
  return dir + "/lazyfs"
}()
