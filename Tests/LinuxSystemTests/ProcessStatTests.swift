import Glibc
import LinuxSystem
import TestSupport
import Testing

/// /proc/PID/stat as the runtime and the mount daemon read it.
@Suite struct ProcessStatTests {
  /// A command name with spaces and parentheses in it (the kernel puts it between parentheses unescaped)
  /// does not shift the fields after it; a killed child shows as exited until it is reaped.
  @Test func readsAChildWhoseNameHasParentheses() throws {
    let dir = try TempDir()
    defer { dir.remove() }
    let program = dir.sub("a) (b c")
    try Files.writeAtomically(program, try Files.read("/bin/sleep"), mode: 0o755, durable: false)
    let child = try Spawned(program, ["30"])
    var stat: ProcessStat?
    for _ in 0..<1000 {
      stat = ProcessStat.read(child.pid)
      if stat?.name == "a) (b c" { break }
      usleep(1000)
    }
    #expect(stat?.name == "a) (b c")
    #expect(stat?.parent == getpid())
    #expect(stat?.exited == false)
    let started = try #require(stat?.startTime)
    kill(child.pid, SIGKILL)
    var dead: ProcessStat?
    for _ in 0..<1000 {
      dead = ProcessStat.read(child.pid)
      if dead?.exited == true { break }
      usleep(1000)
    }
    #expect(dead?.exited == true, "a zombie until reaped")
    #expect(dead?.startTime == started)
    _ = try child.wait(timeout: 10)
    #expect(ProcessStat.read(child.pid) == nil || ProcessStat.read(child.pid)?.startTime != started)
  }
}
