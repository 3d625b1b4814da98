/// Container ids as runc accepts them: letters, digits, `_`, `+`, `-` and `.`, not `.` or `..`, at most
/// 1024 bytes. The id names a directory under --root, so anything else could escape it.
public enum ContainerID {
  public static func validate(_ id: String) throws(RuntimeError) {
    let allowed = id.utf8.allSatisfy { c in
      (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F || c == 0x2B
        || c == 0x2D || c == 0x2E
    }
    guard !id.isEmpty, id != ".", id != "..", id.utf8.count <= 1024, allowed else {
      throw RuntimeError("invalid container id \"\(id)\": use letters, digits, _ + - and . only")
    }
  }
}
