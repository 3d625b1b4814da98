import Glibc
import LinuxSystem
import TestSupport
import Testing

/// Waiting for processes that are not our children, as `lazyfs umount` waits for a mount's daemon.
@Suite struct ProcessExitTests {
  /// A grandchild, orphaned by its parent, exits after a moment: the watch sees it go, although it is not
  /// our child and the host's init reaps it when it will (over a second later on the VM this was written on).
  @Test func seesANonChildExitBeforeItIsReaped() throws {
    let parent = try spawnAndWait("/bin/sh", ["-c", "sleep 1 & echo $!"], timeout: 10)
    let orphan = try #require(Int32(parent.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
    let watch = ProcessExit.Watch([orphan])
    #expect(!ProcessExit.exited(orphan), "still sleeping")
    #expect(watch.wait(seconds: 10).isEmpty, "a process that never showed as exited would be listed here")
    #expect(ProcessExit.exited(orphan))
  }

  /// A process that outlives the wait is reported, and one already gone is not watched at all.
  @Test func reportsWhatIsStillRunning() throws {
    let sleeper = try Spawned("/bin/sleep", ["30"])
    defer {
      sleeper.signal(SIGKILL)
      _ = try? sleeper.wait()
    }
    let done = try Spawned("/bin/true", [])
    _ = try done.wait(timeout: 10)
    #expect(ProcessExit.wait(for: [sleeper.pid, done.pid], seconds: 0.2) == [sleeper.pid])
  }
}
