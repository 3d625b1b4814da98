import Codecs
import Glibc
import ImageIndex

/// `stat` for an entry, as the kernel is to show it: the same as `lazyfs export` writes to disk.
extension ImageIndex {
  /// Kernel inode numbers are entry numbers plus one (the root must be 1). Every name of a hardlinked
  /// file maps to its group's first entry, so `stat` shows one inode for all of them, as on disk.
  func inodeNumber(_ entry: Int) -> UInt64 { UInt64(inode(entry)) + 1 }

  /// The entry an inode number stands for, or nil for a number this image never handed out.
  func entry(forInode ino: UInt64) -> Int? {
    guard ino >= 1, ino <= UInt64(count) else { return nil }
    return Int(ino - 1)
  }

  func stat(_ entry: Int) -> Glibc.stat {
    let a = attributes(entry)
    var st = Glibc.stat()
    st.st_ino = UInt(inodeNumber(entry))
    // Linux shows every symlink as 0777 (its mode is never used); tools compare modes with what they
    // extracted, so the tar header's mode is shown only by `inspect --list`.
    st.st_mode = a.type == .symlink ? S_IFLNK | 0o777 : a.mode
    st.st_nlink = UInt(nlink(entry))
    st.st_uid = a.uid
    st.st_gid = a.gid
    st.st_rdev = a.type == .characterDevice || a.type == .blockDevice ? UInt(a.rdev) : 0
    st.st_size = Int(a.size)
    // Chunks are not file system blocks; report what the bytes would occupy, so `du` is about right.
    st.st_blocks = Int((a.size + 511) / 512)
    // Large, so that stdio and cp ask in requests the size of a chunk rather than of a page.
    st.st_blksize = 128 << 10
    // The image keeps one time; atime and ctime show it too rather than the epoch.
    let t = timespec(tv_sec: Int(a.mtimeSeconds), tv_nsec: Int(a.mtimeNanoseconds))
    st.st_atim = t
    st.st_mtim = t
    st.st_ctim = t
    return st
  }

  /// Bytes of file content the image holds, counting each hardlinked file once.
  var contentBytes: Int64 {
    var total: Int64 = 0
    for i in 0..<count where type(i) == .regular && inode(i) == i { total += attributes(i).size }
    return total
  }

  /// The bytes of the image's distinct chunks: how much a cold mount could have to fetch.
  var chunkBytes: Int64 {
    var seen = [Bool](repeating: false, count: chunkCount)
    var total: Int64 = 0
    for k in 0..<extentCount {
      let x = extentChunk(k)
      if !seen[x.number] {
        seen[x.number] = true
        total += Int64(x.length)
      }
    }
    return total
  }
}
