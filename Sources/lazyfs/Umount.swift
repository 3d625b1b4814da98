import ArgumentParser
import LazyFS

struct Umount: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "umount",
    abstract: "Unmount a lazyfs mount; returns once its daemon has exited.")
  @Flag(help: "Detach a busy mount now; it goes away, and its daemon exits, when the last open file closes.")
  var lazy = false
  @Argument(help: "The mount point.") var mountpoint: String

  func run() throws { try Self.unmount(mountpoint, lazy: lazy) }

  static func unmount(_ mountpoint: String, lazy: Bool) throws {
    try guarded("umount") { try Unmounter.unmount(mountpoint, lazy: lazy) }
  }
}
