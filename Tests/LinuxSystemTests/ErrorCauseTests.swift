import Glibc
import LinuxSystem
import Testing

/// Module errors keep their cause: printed as one line, inspected down to the failed call.
@Suite struct ErrorCauseTests {
  struct Outer: CausedError, Sendable {
    var message: String
    var cause: (any Error & Sendable)?
  }

  @Test func aCauseReadsAsOneLineAndItsErrnoIsFound() {
    let failed = SystemError("open", path: "/x", errno: .ENOENT)
    let error = Outer(message: "lazyfs root", cause: Outer(message: "mounting image \"a\"", cause: failed))
    #expect(error.description == "lazyfs root: mounting image \"a\": open(\"/x\"): ENOENT (No such file or directory)")
    #expect(!error.description.contains("\n"))
    #expect(error.systemError == failed)
    #expect(error.systemError?.errno != Errno(EACCES), "ENOENT told from EACCES without reading text")
  }

  @Test func anErrorWithoutASystemCauseHasNone() {
    #expect(Outer(message: "bad", cause: nil).systemError == nil)
    #expect(Outer(message: "bad", cause: nil).description == "bad")
    struct Plain: Error {}
    #expect(Outer(message: "wrapped", cause: Outer(message: "x", cause: nil)).systemError == nil)
    #expect((Plain() as any Error).systemError == nil)
  }

  @Test func transientErrnosAreTheOnesToRetry() {
    #expect(Errno.EINTR.isTransient && Errno.EAGAIN.isTransient)
    #expect(!Errno.ENOENT.isTransient && !Errno.EIO.isTransient)
  }

  @Test func makeDirectorySaysWhetherItMadeOne() throws {
    var template = Array("/tmp/lazyfs-mkdir-XXXXXX".utf8CString)
    let base = try #require(
      template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }.map { String(cString: $0) })
    defer { Files.removeTree(base) }
    #expect(try Files.makeDirectory(base + "/d"))
    #expect(try !Files.makeDirectory(base + "/d"), "already there")
    let error = #expect(throws: SystemError.self) { try Files.makeDirectory(base + "/absent/d") }
    #expect(error?.errno == .ENOENT)
    try Files.removeFile(base + "/nothing-here")
    try Files.writeAtomically(base + "/f", [1])
    try Files.removeFile(base + "/f")
    #expect(!Files.exists(base + "/f"))
  }
}
