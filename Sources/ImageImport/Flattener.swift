import Archive
import ChunkStore
import Codecs
import ImageIndex
import LinuxSystem

/// Applies layers, in order, to one tree: what a container runtime's snapshotter does on disk, done here in
/// memory, so a hostile layer can never touch the host. File contents go to the store as they stream past.
///
/// Whiteouts follow the OCI image spec: `.wh.NAME` deletes NAME from lower layers; `DIR/.wh..wh..opq` empties
/// DIR of everything lower layers put there (entries of the same layer stay, whatever their order). Other
/// `.wh..wh.` names (aufs bookkeeping) are dropped.
///
/// Refused: a path with `..` leaving the root, a path through a symlink (the importer never follows links,
/// so `evil -> /etc` then `evil/passwd` is an error, not a write to the host or a surprise in the image),
/// a path through a non-directory, and a hardlink to a name not already in the image.
/// Neutralised: leading `/` (paths are relative to the image root); duplicate entries (the last wins, as tar).
final class Flattener {
  let root: TreeNode
  private let writer: StoreWriter
  private var pendingFiles: [(node: TreeNode, file: Int)] = []
  private var createdThisLayer = Set<ObjectIdentifier>()
  private(set) var fileCount = 0
  private let implicitDirectory = EntryAttributes(mode: FileType.directory.rawValue | 0o755)

  init(writer: StoreWriter, rootAttributes: EntryAttributes? = nil) {
    self.writer = writer
    root = TreeNode(attributes: rootAttributes ?? EntryAttributes(mode: FileType.directory.rawValue | 0o755))
  }

  /// Starts a new layer: an opaque whiteout keeps only what the current layer created.
  func beginLayer() {
    createdThisLayer.removeAll(keepingCapacity: true)
  }

  /// Adds one entry; `content` supplies a regular file's data.
  func add(_ header: TarHeader, whiteouts: Bool, content: (UnsafeMutableRawBufferPointer) throws -> Int) throws {
    let path = try TarPath.normalize(header.path, entry: header.path)
    let entry = { (reason: String) in ArchiveError(entry: header.path, reason: reason) }
    if path.isEmpty {
      guard header.type == .directory else { throw entry("the image root must be a directory") }
      root.attributes = attributes(header, type: .directory)
      root.xattrs = header.xattrs
      return
    }
    var components = path.split(separator: "/").map(String.init)
    let name = components.removeLast()
    let parent = try directory(components, creating: true, for: header.path)

    if whiteouts && name.hasPrefix(".wh.") {
      if name == ".wh..wh..opq" {
        parent.children = parent.children.filter { createdThisLayer.contains(ObjectIdentifier($0.value)) }
      } else if !name.hasPrefix(".wh..wh.") {
        parent.children[EntryName(name.dropFirst(4))] = nil
      }
      return
    }

    let node: TreeNode
    switch header.type {
    case .directory:
      if let existing = parent.children[EntryName(name)], existing.isDirectory {
        existing.attributes = attributes(header, type: .directory)
        existing.xattrs = header.xattrs
        createdThisLayer.insert(ObjectIdentifier(existing))
        return
      }
      node = TreeNode(attributes: attributes(header, type: .directory))
    case .hardlink:
      let target = try TarPath.normalize(header.linkName, entry: header.path)
      guard let linked = try lookup(target, for: header.path), !linked.isDirectory else {
        throw entry("hardlink target \"\(header.linkName)\" is not a file already in the image")
      }
      node = linked
    case .regular:
      node = TreeNode(attributes: attributes(header, type: .regular))
      let file = try writer.addFile(size: header.size, read: content)
      pendingFiles.append((node, file))
      fileCount += 1
    case .symlink:
      node = TreeNode(attributes: attributes(header, type: .symlink))
      node.symlinkTarget = header.linkName
    case .characterDevice, .blockDevice:
      node = TreeNode(
        attributes: attributes(header, type: header.type == .blockDevice ? .blockDevice : .characterDevice))
      node.attributes.rdev = DeviceNumber.make(header.devMajor, header.devMinor)
    case .fifo:
      node = TreeNode(attributes: attributes(header, type: .fifo))
    }
    if header.type != .hardlink { node.xattrs = header.xattrs }
    parent.children[EntryName(name)] = node
    createdThisLayer.insert(ObjectIdentifier(node))
  }

  private func attributes(_ h: TarHeader, type: FileType) -> EntryAttributes {
    EntryAttributes(
      mode: type.rawValue | (h.mode & 0o7777), uid: h.uid, gid: h.gid, size: type == .regular ? h.size : 0,
      mtimeSeconds: h.mtimeSeconds, mtimeNanoseconds: h.mtimeNanoseconds)
  }

  /// The directory at `components`, creating missing ones (tar may omit parents). Never follows a symlink.
  private func directory(_ components: [String], creating: Bool, for entry: String) throws -> TreeNode {
    var dir = root
    for (k, c) in components.enumerated() {
      if let next = dir.children[EntryName(c)] {
        guard next.isDirectory else {
          let at = components[0...k].joined(separator: "/")
          let what = next.attributes.type == .symlink ? "through symlink \"\(at)\"" : "through non-directory \"\(at)\""
          throw ArchiveError(entry: entry, reason: "path goes \(what)")
        }
        dir = next
      } else {
        let made = TreeNode(attributes: implicitDirectory)
        dir.children[EntryName(c)] = made
        createdThisLayer.insert(ObjectIdentifier(made))
        dir = made
      }
    }
    return dir
  }

  private func lookup(_ path: String, for entry: String) throws -> TreeNode? {
    var node = root
    for c in path.split(separator: "/") {
      guard node.isDirectory, let next = node.children[EntryName(c)] else { return nil }
      node = next
    }
    return node
  }

  /// Gives every file its chunk list, once the store writer has committed.
  func finish(_ files: [[FileChunk]]) {
    for (node, file) in pendingFiles {
      node.extents = files[file].map { Extent(offset: $0.offset, chunk: $0.digest, length: $0.length) }
    }
    pendingFiles = []
  }
}
