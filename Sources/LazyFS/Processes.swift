import Glibc
import LinuxSystem

/// The few facts about other processes that mounting and unmounting need, read from /proc.
enum Processes {
  /// The state letter and parent of `pid` from /proc/PID/stat, or nil when there is no such process.
  static func status(_ pid: Int32) -> (state: Character, parent: Int32, name: String)? {
    guard let bytes = try? Files.read("/proc/\(pid)/stat") else { return nil }
    let text = String(decoding: bytes, as: UTF8.self)
    // "pid (comm) S ppid …": comm may hold spaces and parentheses, so split at the last ')'.
    guard let open = text.firstIndex(of: "("), let close = text.lastIndex(of: ")") else { return nil }
    let fields = text[text.index(after: close)...].split(separator: " ")
    guard fields.count >= 2, let state = fields[0].first, let parent = Int32(fields[1]) else { return nil }
    return (state, parent, String(text[text.index(after: open)..<close]))
  }

  /// A child of `parent` whose command name is `name`: from the kernel's list of each of its threads'
  /// children where it keeps one (CONFIG_PROC_CHILDREN), else by reading every process's stat.
  static func child(of parent: Int32, named name: String) -> Int32? {
    if let tasks = try? Files.list("/proc/\(parent)/task"),
      Files.exists("/proc/\(parent)/task/\(parent)/children")
    {
      for task in tasks {
        let text = String(decoding: (try? Files.read("/proc/\(parent)/task/\(task)/children")) ?? [], as: UTF8.self)
        for pid in text.split(separator: " ").compactMap({ Int32($0) }) where status(pid)?.name == name {
          return pid
        }
      }
      return nil
    }
    for entry in (try? Files.list("/proc")) ?? [] {
      guard let pid = Int32(entry), let s = status(pid) else { continue }
      if s.parent == parent && s.name == name { return pid }
    }
    return nil
  }
}
