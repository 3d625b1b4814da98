import CFuse
import Glibc
import ImageIndex
import JSON

/// Extended attributes: exactly the image's, plus the statistics on the root (see `MountStatistics`).
///
/// Both calls follow getxattr(2): a zero `size` asks how big the answer is, a buffer too small is ERANGE,
/// a name the entry does not have is ENODATA.
extension ImageFilesystem {
  func getxattr(_ reply: consuming Reply, _ ino: fuse_ino_t, name: UnsafePointer<CChar>?, size: Int) {
    guard let entry = index.entry(forInode: ino), let name else { return reply.error(ENOENT) }
    let wanted = String(cString: name)
    let value: [UInt8]
    if entry == 0 && wanted == MountStatistics.attributeName {
      let json = snapshot().json()
      value = json
    } else if entry == 0 && wanted == ProfileSave.attributeName {
      // An action, not a value: a size query (which tools make before reading) must not trigger it.
      if size == 0 { return reply.xattrSize(ProfileSave.answerSize) }
      value = saveProfile()
    } else if let hit = index.xattrs(entry).first(where: { $0.name == wanted }) {
      value = hit.value
    } else {
      return reply.error(ENODATA)
    }
    answer(reply, value, size: size)
  }

  /// The names, each NUL-terminated, in the image's (sorted) order. The statistics name is left out: it is
  /// not part of the image, and tools that copy every listed xattr must not copy it.
  func listxattr(_ reply: consuming Reply, _ ino: fuse_ino_t, size: Int) {
    guard let entry = index.entry(forInode: ino) else { return reply.error(ENOENT) }
    var list: [UInt8] = []
    for (name, _) in index.xattrs(entry) {
      list.append(contentsOf: name.utf8)
      list.append(0)
    }
    answer(reply, list, size: size)
  }

  /// Closes the `--record` window now and saves the run; the answer is JSON, `ProfileSave`.
  private func saveProfile() -> [UInt8] {
    var o = JSONObject()
    if let recorder {
      do {
        if let profile = try recorder.save(reason: "asked to save") {
          o.append("path", .string(recorder.path))
          o.append("profile", .string(profile.digest.description))
          o.append("runs", .int(Int(profile.runs)))
          o.append("extents", .int(profile.records.count))
        } else {
          o.append("error", .string("nothing to save: the window is closed already, or nothing was read"))
        }
      } catch {
        o.append("error", .string("\(error)"))
      }
    } else {
      o.append("error", .string("the mount is not recording (mount it with --record)"))
    }
    return JSONValue.object(o).encoded()
  }

  private func answer(_ reply: consuming Reply, _ value: [UInt8], size: Int) {
    if size == 0 { return reply.xattrSize(value.count) }
    guard value.count <= size else { return reply.error(ERANGE) }
    reply.bytes(value)
  }
}
