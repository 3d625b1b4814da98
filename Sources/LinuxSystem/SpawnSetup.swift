import CLinux
import Glibc

/// The posix_spawn set-up every program started here gets, in one place: whatever this process blocks or
/// handles (a runtime blocks every signal while it forwards them, a test runner blocks some), the program
/// starts with no signal blocked and each at its default action, and it inherits only the descriptors it
/// is given.
public enum SpawnSetup {
  /// An empty signal mask and default dispositions in the child; `flags` adds others (POSIX_SPAWN_SETSID).
  public static func resetSignals(_ attributes: inout posix_spawnattr_t, flags: Int16 = 0) {
    var none = sigset_t()
    sigemptyset(&none)
    var all = sigset_t()
    sigfillset(&all)
    posix_spawnattr_setsigmask(&attributes, &none)
    posix_spawnattr_setsigdefault(&attributes, &all)
    posix_spawnattr_setflags(&attributes, flags | Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
  }

  /// Closes every descriptor from `lowest` up in the child, after the actions added before this one.
  public static func closeFrom(_ actions: inout posix_spawn_file_actions_t, _ lowest: Int32) {
    _ = cl_spawn_closefrom(&actions, lowest)
  }

  /// The child changes to `directory` before it runs the program.
  public static func changeDirectory(_ actions: inout posix_spawn_file_actions_t, to directory: String) {
    _ = cl_spawn_chdir(&actions, directory)
  }
}
