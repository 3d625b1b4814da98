import Glibc
import LinuxSystem

/// The few facts about other processes that mounting and unmounting need, read from /proc.
enum Processes {
  /// A child of `parent` whose command name is `name`: from the kernel's list of each of its threads'
  /// children where it keeps one (CONFIG_PROC_CHILDREN), else by reading every process's stat.
  static func child(of parent: Int32, named name: String) -> Int32? {
    if let tasks = try? Files.list("/proc/\(parent)/task"),
      Files.exists("/proc/\(parent)/task/\(parent)/children")
    {
      for task in tasks {
        let text = String(decoding: (try? Files.read("/proc/\(parent)/task/\(task)/children")) ?? [], as: UTF8.self)
        for pid in text.split(separator: " ").compactMap({ Int32($0) }) where ProcessStat.read(pid)?.name == name {
          return pid
        }
      }
      return nil
    }
    for entry in (try? Files.list("/proc")) ?? [] {
      guard let pid = Int32(entry), let s = ProcessStat.read(pid) else { continue }
      if s.parent == parent && s.name == name { return pid }
    }
    return nil
  }
}
