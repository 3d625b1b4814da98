import CLinux
import Glibc

/// What the kernel's page cache holds, and how much memory it could take without evicting anything.
public enum PageCache {
  /// Bytes of [offset, offset + length) of the open file `fd` that are resident: cachestat(2) where the
  /// kernel has it (6.5+), else mincore(2) over a mapping.
  public static func residentBytes(_ fd: borrowing FileDescriptor, offset: Int64, length: Int64) throws -> Int64 {
    let n = cl_page_cache_resident(fd.raw, UInt64(offset), UInt64(length))
    if n < 0 { throw SystemError("cachestat") }
    return n
  }

  /// The memory the kernel has not given to anything (MemFree in /proc/meminfo) less a reserve of a
  /// sixteenth of all memory: what can be filled without reclaiming a page anyone holds, page cache
  /// included. Nil when /proc/meminfo cannot be read.
  public static func spareBytes() -> Int64? {
    guard let text = try? Files.read("/proc/meminfo") else { return nil }
    var fields: [Substring: Int64] = [:]
    for line in String(decoding: text, as: UTF8.self).split(separator: "\n") {
      let parts = line.split(whereSeparator: { $0 == ":" || $0 == " " })
      if parts.count >= 2, let kb = Int64(parts[1]) { fields[parts[0]] = kb * 1024 }
    }
    guard let free = fields["MemFree"], let total = fields["MemTotal"] else { return nil }
    return max(0, free - total / 16)
  }
}

/// Which CPUs a thread may run on.
public enum CPUAffinity {
  /// Keeps the calling thread on CPU `cpu` (FUSE over io_uring serves a request on the ring of the CPU
  /// that made it: a test that wants two requests on one ring pins both threads).
  public static func pinCurrentThread(to cpu: Int) throws {
    _ = try syscall("sched_setaffinity") { cl_pin_current_thread(Int32(cpu)) }
  }
}
