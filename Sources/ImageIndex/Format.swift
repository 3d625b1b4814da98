import Codecs
import LinuxSystem

/// The binary layout of an image index, version 1. Little-endian, fixed-width records, so that a mount can
/// memory-map the file and answer any lookup by reading a few records, without parsing the whole index.
///
/// ```
/// header   64 bytes: magic "LZIMG001", entry count u32, chunk count u32, extent count u64,
///                    then the byte offsets of: entries u64, extents u64, chunks u64, strings u64,
///                    then config offset u32 and config length u32 (relative to strings)
/// entries  96 bytes each, in breadth-first order: the root is entry 0, and the children of every
///          directory are contiguous and sorted by name (bytewise), so a lookup in a directory is a binary
///          search and a listing is a slice
/// extents  16 bytes each: file offset u64, chunk number u32, length u32; a file's extents are contiguous
/// chunks   32 bytes each: the distinct chunk digests of the image, sorted
/// strings  names, symlink targets, xattr blobs and the image config, referred to by offset and length
/// ```
///
/// Entry record (96 bytes):
/// `mode u32, uid u32, gid u32, nlink u32, size u64, mtime s i64, mtime ns u32, parent u32,
///  name offset u64, name length u32, inode u32, first u64, count u64, rdev u64, xattr offset u64,
///  xattr length u32, reserved u32`, where `first`/`count` are the first child and child count of a
/// directory, the first extent and extent count of a regular file, and the target's string offset and
/// length of a symlink. `inode` is the entry number of the first name of a hardlink group (its own number
/// otherwise): the kernel sees inode number `inode + 1`, so the root is inode 1, as FUSE requires.
///
/// An xattr blob is a sequence of `name length u32, value length u32, name, value`, sorted by name.
/// The file is content-addressed: its SHA-256 is the image digest, so any change to any byte is detected.
public enum IndexFormat {
  public static let magic: [UInt8] = Array("LZIMG001".utf8)
  static let headerSize = 64
  static let entrySize = 96
  static let extentSize = 16
  static let chunkSize = 32
  /// The largest index a store file may decompress to (1 GiB: some 10 million entries; the same bound as
  /// `StoreLayout.maximumIndexSize`, which this module cannot see).
  static let maximumSize = 1 << 30
}

/// File types as in `st_mode`.
public enum FileType: UInt32, Sendable {
  case fifo = 0o010000
  case characterDevice = 0o020000
  case directory = 0o040000
  case blockDevice = 0o060000
  case regular = 0o100000
  case symlink = 0o120000
  case socket = 0o140000

  public init?(mode: UInt32) { self.init(rawValue: mode & 0o170000) }
}

/// The metadata of one name in the tree: everything `stat` shows, and then some.
public struct EntryAttributes: Sendable, Equatable {
  public var mode: UInt32
  public var uid: UInt32
  public var gid: UInt32
  public var size: Int64
  public var mtimeSeconds: Int64
  public var mtimeNanoseconds: UInt32
  public var rdev: UInt64

  public init(
    mode: UInt32, uid: UInt32 = 0, gid: UInt32 = 0, size: Int64 = 0, mtimeSeconds: Int64 = 0,
    mtimeNanoseconds: UInt32 = 0, rdev: UInt64 = 0
  ) {
    self.mode = mode
    self.uid = uid
    self.gid = gid
    self.size = size
    self.mtimeSeconds = mtimeSeconds
    self.mtimeNanoseconds = mtimeNanoseconds
    self.rdev = rdev
  }

  public var type: FileType? { FileType(mode: mode) }
}

/// A run of a file's bytes held by one chunk.
public struct Extent: Sendable, Equatable {
  public var offset: Int64
  public var chunk: Digest
  public var length: UInt32
  public init(offset: Int64, chunk: Digest, length: UInt32) {
    self.offset = offset
    self.chunk = chunk
    self.length = length
  }
}

/// Why an index could not be read.
public typealias IndexError = ModuleError<IndexFailure>
public enum IndexFailure {}
