// The compiled-program cache: its key (SHA-256 of the profile's JSON and libseccomp's version) and the
// files it keeps, in a directory under /tmp.
import LinuxSystem
import OCISpec
import Seccomp
import TestSupport
import Testing

/// A cache key must change with anything that changes the program, or a container would get another
/// profile's filter; and a cached file must be what is served, or the cache saves nothing.
@Suite("Seccomp program cache")
struct SeccompCacheTests {
  static let base = #"""
    {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
      {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW",
       "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]}]}
    """#

  /// One change each to the base profile, every one of which changes the program or its meaning.
  static let variants: [(String, String)] = [
    ("another name", base.replacing(#""write""#, with: #""pwrite64""#)),
    ("another action", base.replacing(#""SCMP_ACT_ALLOW""#, with: #""SCMP_ACT_LOG""#)),
    ("another default", base.replacing(#""SCMP_ACT_ERRNO""#, with: #""SCMP_ACT_KILL""#)),
    ("an errno", base.replacing(#""defaultAction""#, with: #""defaultErrnoRet": 38, "defaultAction""#)),
    ("another argument", base.replacing(#""value": 1"#, with: #""value": 2"#)),
    ("a flag", base.replacing(#""syscalls""#, with: #""flags": ["SECCOMP_FILTER_FLAG_LOG"], "syscalls""#)),
    ("an architecture", base.replacing(#""syscalls""#, with: #""architectures": ["SCMP_ARCH_X86"], "syscalls""#)),
  ]

  @Test func keyIsAStableSHA256() throws {
    let key = SeccompCache.key(for: try profile(Self.base))
    #expect(key.count == 64 && key.allSatisfy { $0.isHexDigit && !$0.isUppercase })
    // The same profile written differently (spacing) is the same profile.
    let respaced = Self.base.replacing("\n", with: " ").replacing(": ", with: ":")
    #expect(SeccompCache.key(for: try profile(respaced)) == key)
  }

  @Test(arguments: variants)
  func keyChangesWithTheProfile(change: String, json: String) throws {
    #expect(json != Self.base, "the variant \(change) changes nothing")
    #expect(SeccompCache.key(for: try profile(json)) != SeccompCache.key(for: try profile(Self.base)), "\(change)")
  }

  @Test func programIsStoredUnderItsKeyAndServedFromThere() throws {
    let dir = try TempDir("seccomp-cache")
    defer { dir.remove() }
    let spec = try profile(Self.base)
    let cache = SeccompCache(directory: dir.sub("nested/cache"))
    let program = try cache.program(for: spec)
    #expect(program == (try SeccompCompiler.compile(spec)))
    let file = "\(cache.directory)/\(SeccompCache.key(for: spec)).bpf"
    #expect(try Files.read(file) == program)
    // A stored program is returned as it is, without compiling.
    let stored: [UInt8] = [6, 0, 0, 0, 0, 0, 0xff, 0x7f]
    try Files.writeAtomically(file, stored, durable: false)
    #expect(try cache.program(for: spec) == stored)
    // A file that cannot be a program (not whole instructions) is compiled again and replaced.
    try Files.writeAtomically(file, [1, 2, 3], durable: false)
    #expect(try cache.program(for: spec) == program)
    #expect(try Files.read(file) == program)
  }

  /// A cache that cannot be written is no error: the program is still returned.
  @Test func unwritableCacheStillCompiles() throws {
    let dir = try TempDir("seccomp-cache")
    defer { dir.remove() }
    try Files.writeAtomically(dir.sub("file"), [0], durable: false)
    let spec = try profile(Self.base)
    let cache = SeccompCache(directory: dir.sub("file/cache"))
    #expect(try cache.program(for: spec) == (try SeccompCompiler.compile(spec)))
  }

  @Test func badProfileIsNotCached() throws {
    let dir = try TempDir("seccomp-cache")
    defer { dir.remove() }
    let cache = SeccompCache(directory: dir.path)
    let bad = try profile(#"{"defaultAction": "SCMP_ACT_NOTHING"}"#)
    #expect(throws: SeccompError.self) { try cache.program(for: bad) }
    #expect(try Files.list(dir.path).isEmpty)
  }
}
