/// What kind of file a tar entry describes. Tar has more type flags than these; the others (sparse files,
/// GNU volume labels, multi-volume continuations) cannot appear in a container image layer and are rejected.
public enum TarEntryType: Sendable, Hashable {
  case regular, hardlink, symlink, characterDevice, blockDevice, directory, fifo

  /// The ustar type flag a writer uses for this type.
  var flag: UInt8 {
    switch self {
    case .regular: UInt8(ascii: "0")
    case .hardlink: UInt8(ascii: "1")
    case .symlink: UInt8(ascii: "2")
    case .characterDevice: UInt8(ascii: "3")
    case .blockDevice: UInt8(ascii: "4")
    case .directory: UInt8(ascii: "5")
    case .fifo: UInt8(ascii: "6")
    }
  }
}

/// One entry's metadata with every tar extension already folded in (PAX records, GNU long names, the ustar
/// prefix, base-256 numbers), so that callers never need to know which dialect wrote the archive.
public struct TarHeader: Sendable {
  /// The path as the archive spells it after long-name processing; not normalised (see `TarPath.normalize`).
  public var path: String
  public var type: TarEntryType
  /// Permission bits including setuid, setgid and sticky (masked with 0o7777).
  public var mode: UInt32
  public var uid: UInt32
  public var gid: UInt32
  /// The number of data bytes that follow the header: 0 for everything but regular files.
  public var size: Int64
  public var mtimeSeconds: Int64
  public var mtimeNanoseconds: UInt32
  /// The target of a symlink, or the archive path of a hard link's target.
  public var linkName: String
  public var devMajor: UInt32
  public var devMinor: UInt32
  /// Extended attributes (PAX `SCHILY.xattr.*`, `LIBARCHIVE.xattr.*`), sorted by name bytes.
  public var xattrs: [(name: String, value: [UInt8])]

  public init(
    path: String, type: TarEntryType = .regular, mode: UInt32 = 0o644, uid: UInt32 = 0, gid: UInt32 = 0,
    size: Int64 = 0, mtimeSeconds: Int64 = 0, mtimeNanoseconds: UInt32 = 0, linkName: String = "",
    devMajor: UInt32 = 0, devMinor: UInt32 = 0, xattrs: [(name: String, value: [UInt8])] = []
  ) {
    self.path = path
    self.type = type
    self.mode = mode
    self.uid = uid
    self.gid = gid
    self.size = size
    self.mtimeSeconds = mtimeSeconds
    self.mtimeNanoseconds = mtimeNanoseconds
    self.linkName = linkName
    self.devMajor = devMajor
    self.devMinor = devMinor
    self.xattrs = xattrs
  }
}

/// A malformed, hostile or unsupported archive, or a header a writer cannot encode. Names the entry when it is
/// known, because "checksum mismatch" alone does not say where in a 2 GB layer to look.
public struct ArchiveError: Error, CustomStringConvertible, Sendable {
  /// The entry's path as the archive spells it, when it is known.
  public let entry: String?
  public let reason: String

  public init(entry: String?, reason: String) {
    self.entry = entry
    self.reason = reason
  }

  public var description: String {
    if let entry { return "tar entry \"\(entry)\": \(reason)" }
    return "tar archive: \(reason)"
  }
}
