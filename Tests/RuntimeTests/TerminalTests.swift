// process.terminal with --console-socket: the test listens on a Unix socket, receives the pty master the
// runtime sends there (SCM_RIGHTS, as runc sends it) and reads the container's output through it.
import CContainerInit
import Foundation
import OCISpec
import Testing

/// A listening Unix socket that accepts one connection and takes the descriptor sent over it.
final class ConsoleReceiver: @unchecked Sendable {
  let path: String
  private let listener: Int32
  private let lock = NSLock()
  private var received: Int32 = -1
  private var payload = ""
  private let done = DispatchSemaphore(value: 0)

  init(path: String) throws {
    self.path = path
    listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
    let bound = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
      }
    }
    guard bound == 0, listen(listener, 1) == 0 else { throw TestFailure("bind/listen \(path): errno \(errno)") }
    Thread { [self] in
      let connection = accept(listener, nil, nil)
      if connection >= 0 {
        var buffer = [UInt8](repeating: 0, count: 256)
        var fd: Int32 = -1
        let n = buffer.withUnsafeMutableBytes { cfi_receive_fd(connection, $0.baseAddress, $0.count, &fd) }
        lock.withLock {
          received = fd
          payload = String(decoding: buffer[0..<max(0, n)], as: UTF8.self)
        }
        close(connection)
      }
      done.signal()
    }.start()
  }

  /// The received descriptor and the name sent with it, once one came (at most `seconds`).
  func take(seconds: Double = 20) -> (fd: Int32, name: String)? {
    guard done.wait(timeout: .now() + seconds) == .success else { return nil }
    return lock.withLock { received >= 0 ? (received, payload) : nil }
  }

  deinit {
    close(listener)
    unlink(path)
  }
}

/// Everything readable from a pty master until the slave side is closed by every process (EIO) or
/// `seconds` pass.
func readAll(master: Int32, seconds: Int32 = 20) -> String {
  var out: [UInt8] = []
  var buffer = [UInt8](repeating: 0, count: 4096)
  while true {
    var p = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
    guard poll(&p, 1, seconds * 1000) > 0 else { break }
    let n = buffer.withUnsafeMutableBytes { read(master, $0.baseAddress, $0.count) }
    if n <= 0 { break }
    out += buffer[0..<n]
  }
  return String(decoding: out, as: UTF8.self)
}

@Suite("Terminal (root, real containers)")
struct TerminalTests {
  @Test func containerGetsAPtyWhoseMasterArrivesOnTheConsoleSocket() throws {
    let c = try TestContainer(
      "tty", args: ["/bin/sh", "-c", "tty; stty size; test -t 0 && test -t 1 && echo both; echo hello"])
    defer { c.cleanup() }
    c.spec.process?.terminal = true
    c.spec.process?.consoleSize = Spec.ConsoleSize(height: 31, width: 97)
    try c.writeConfig()
    let receiver = try ConsoleReceiver(path: c.bundle + "/console.sock")
    let run = c.crunFast("run", "--detach", "--console-socket", receiver.path, "--bundle", c.bundle, c.id)
    #expect(run.status == 0, "\(run)")
    let console = try #require(receiver.take())
    defer { close(console.fd) }
    #expect(console.name == "/dev/ptmx")
    let output = readAll(master: console.fd)
    #expect(output == "/dev/pts/0\r\n31 97\r\nboth\r\nhello\r\n", "\(output)")
  }

  @Test func execWithTTYGetsItsOwnPty() throws {
    let c = try TestContainer("ttyexec", args: ["/bin/sleep", "1000"])
    defer { c.cleanup() }
    try c.writeConfig()
    #expect(c.crunFast("run", "--detach", "--bundle", c.bundle, c.id).status == 0)
    let receiver = try ConsoleReceiver(path: c.bundle + "/console.sock")
    let exec = c.crunFast(
      "exec", "--tty", "--detach", "--console-socket", receiver.path, c.id, "/bin/sh", "-c", "tty; echo exec")
    #expect(exec.status == 0, "\(exec)")
    let console = try #require(receiver.take())
    defer { close(console.fd) }
    #expect(readAll(master: console.fd) == "/dev/pts/0\r\nexec\r\n")
  }

  @Test func terminalWithoutConsoleSocketIsRefused() throws {
    let c = try TestContainer("ttyno", args: ["/bin/true"])
    defer { c.cleanup() }
    c.spec.process?.terminal = true
    try c.writeConfig()
    let result = c.crunFast("create", "--bundle", c.bundle, c.id)
    #expect(result.status == 1)
    #expect(result.stderr.contains("--console-socket"), "\(result)")
    #expect(!c.stateDirectoryExists)
    #expect(c.cgroupDirectories.isEmpty)
  }
}
