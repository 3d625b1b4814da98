import CFuse
import Glibc
import ImageIndex

/// Directory listings. Offsets are positions in a fixed order, "." (0), ".." (1), then the children in
/// the index's order (2 + k), so a listing resumed at any offset continues where it stopped, whatever the
/// request size, and the same entry always has the same offset.
extension ImageFilesystem {
  func readdir(_ reply: consuming Reply, _ ino: fuse_ino_t, size: Int, offset: Int64, plus: Bool) {
    guard let dir = index.entry(forInode: ino) else { return reply.error(ENOENT) }
    guard index.type(dir) == .directory else { return reply.error(ENOTDIR) }
    let children = index.children(dir)
    let total = 2 + children.count
    guard offset >= 0, offset < Int64(total) else { return reply.bytes(UnsafeRawBufferPointer(start: nil, count: 0)) }

    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 8)
    defer { buffer.deallocate() }
    var name = [CChar](repeating: 0, count: 4097)
    var used = 0
    var position = Int(offset)
    while position < total {
      let entry: Int
      switch position {
      case 0:
        entry = dir
        name[0] = 0x2e
        name[1] = 0
      case 1:
        entry = index.parent(dir)
        name[0] = 0x2e
        name[1] = 0x2e
        name[2] = 0
      default:
        entry = children.lowerBound + position - 2
        let bytes = index.nameBytes(entry)
        let n = min(bytes.count, name.count - 1)
        name.withUnsafeMutableBytes { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[0..<n])) }
        name[n] = 0
      }
      let next = off_t(position + 1)
      let room = size - used
      let at = buffer.baseAddress!.assumingMemoryBound(to: CChar.self) + used
      let needed: Int
      if plus {
        var e = entryParameters(entry)
        if position < 2 {
          // "." and ".." carry no lookup (the kernel never makes dentries for them): ino 0, type only.
          e = fuse_entry_param()
          e.attr.st_ino = UInt(index.inodeNumber(entry))
          e.attr.st_mode = index.attributes(entry).mode
        }
        needed = fuse_add_direntry_plus(reply.request, at, room, name, &e, next)
      } else {
        var st = Glibc.stat()
        st.st_ino = UInt(index.inodeNumber(entry))
        st.st_mode = index.attributes(entry).mode
        needed = fuse_add_direntry(reply.request, at, room, name, &st, next)
      }
      if needed > room { break }
      used += needed
      position += 1
    }
    reply.bytes(UnsafeRawBufferPointer(rebasing: buffer[0..<used]))
  }
}
