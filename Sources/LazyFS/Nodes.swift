import CFuse
import Glibc
import ImageIndex

/// Name lookup, attributes, symlinks, opens and statfs.
extension ImageFilesystem {
  func entryParameters(_ entry: Int) -> fuse_entry_param {
    var e = fuse_entry_param()
    e.ino = index.inodeNumber(entry)
    e.attr = index.stat(entry)
    e.attr_timeout = Self.timeout
    e.entry_timeout = Self.timeout
    return e
  }

  func lookup(_ reply: consuming Reply, parent: fuse_ino_t, name: UnsafePointer<CChar>?) {
    guard let dir = index.entry(forInode: parent), let name else { return reply.error(ENOENT) }
    guard index.type(dir) == .directory else { return reply.error(ENOTDIR) }
    let key = UnsafeRawBufferPointer(start: name, count: strlen(name))
    guard let child = findChild(key, in: dir) else {
      // A negative entry (ino 0) the kernel may cache as long as a positive one: the name will never appear.
      var e = fuse_entry_param()
      e.entry_timeout = Self.timeout
      return reply.entry(e)
    }
    reply.entry(entryParameters(child))
  }

  /// Binary search of a directory's children by raw name bytes (names need not be valid UTF-8, so they are
  /// never turned into `String`s on the way).
  func findChild(_ key: UnsafeRawBufferPointer, in dir: Int) -> Int? {
    var range = index.children(dir)
    while !range.isEmpty {
      let mid = range.lowerBound + range.count / 2
      let n = index.nameBytes(mid)
      var c = key.count == 0 || n.count == 0 ? 0 : memcmp(n.baseAddress!, key.baseAddress!, min(n.count, key.count))
      if c == 0 { c = n.count < key.count ? -1 : (n.count > key.count ? 1 : 0) }
      if c == 0 { return mid }
      range = c < 0 ? (mid + 1)..<range.upperBound : range.lowerBound..<mid
    }
    return nil
  }

  func getattr(_ reply: consuming Reply, _ ino: fuse_ino_t) {
    guard let entry = index.entry(forInode: ino) else { return reply.error(ENOENT) }
    reply.attributes(index.stat(entry), timeout: Self.timeout)
  }

  func readlink(_ reply: consuming Reply, _ ino: fuse_ino_t) {
    guard let entry = index.entry(forInode: ino) else { return reply.error(ENOENT) }
    guard index.type(entry) == .symlink else { return reply.error(EINVAL) }
    reply.link(index.symlinkTarget(entry))
  }

  func open(_ reply: consuming Reply, _ ino: fuse_ino_t, _ fi: UnsafeMutablePointer<fuse_file_info>?) {
    guard let entry = index.entry(forInode: ino), let fi else { return reply.error(ENOENT) }
    guard fi.pointee.flags & O_ACCMODE == O_RDONLY else { return reply.error(EROFS) }
    guard index.type(entry) == .regular else { return reply.error(EINVAL) }
    if openless.load(ordering: .relaxed) { return reply.error(ENOSYS) }
    // Keep the page cache across opens: what was read once is never asked for again.
    lf_file_info_keep_cache(fi)
    reply.open(fi)
  }

  func opendir(_ reply: consuming Reply, _ ino: fuse_ino_t, _ fi: UnsafeMutablePointer<fuse_file_info>?) {
    guard let entry = index.entry(forInode: ino), let fi else { return reply.error(ENOENT) }
    guard index.type(entry) == .directory else { return reply.error(ENOTDIR) }
    guard fi.pointee.flags & O_ACCMODE == O_RDONLY else { return reply.error(EROFS) }
    if opendirless.load(ordering: .relaxed) { return reply.error(ENOSYS) }
    lf_file_info_cache_dir(fi)
    reply.open(fi)
  }

  /// Sizes in 4 KiB blocks, all used: `df` shows the image's content size and no free space.
  func statfs(_ reply: consuming Reply) {
    var s = statvfs()
    s.f_bsize = 4096
    s.f_frsize = 4096
    s.f_blocks = fsblkcnt_t((contentBytes + 4095) / 4096)
    s.f_files = fsfilcnt_t(index.count)
    s.f_namemax = 255
    s.f_flag = UInt(ST_RDONLY)
    reply.statfs(s)
  }
}
