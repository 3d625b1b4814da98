/// mount(2) flags, spelled out (they are macros in <sys/mount.h>).
public enum MountFlag {
  public static let readOnly: UInt = 1
  public static let noSuid: UInt = 2
  public static let noDev: UInt = 4
  public static let noExec: UInt = 8
  public static let synchronous: UInt = 16
  public static let remount: UInt = 32
  public static let mandatoryLock: UInt = 64
  public static let dirSync: UInt = 128
  public static let noSymfollow: UInt = 256
  public static let noAtime: UInt = 1024
  public static let noDirAtime: UInt = 2048
  public static let bind: UInt = 4096
  public static let recursive: UInt = 16384
  public static let unbindable: UInt = 1 << 17
  public static let `private`: UInt = 1 << 18
  public static let slave: UInt = 1 << 19
  public static let shared: UInt = 1 << 20
  public static let relAtime: UInt = 1 << 21
  public static let strictAtime: UInt = 1 << 24
  public static let lazyTime: UInt = 1 << 25
}

/// A mount's `options` split the way runc splits them: flags for mount(2), propagation changes (applied
/// with a separate mount call, as the kernel requires), and the rest joined as the filesystem's data.
public struct MountOptions: Equatable, Sendable {
  public var flags: UInt = 0
  public var propagation: UInt = 0
  public var data: [String] = []

  public var isBind: Bool { flags & MountFlag.bind != 0 }

  static let setting: [String: UInt] = [
    "ro": MountFlag.readOnly, "nosuid": MountFlag.noSuid, "nodev": MountFlag.noDev, "noexec": MountFlag.noExec,
    "sync": MountFlag.synchronous, "remount": MountFlag.remount, "mand": MountFlag.mandatoryLock,
    "dirsync": MountFlag.dirSync, "nosymfollow": MountFlag.noSymfollow, "noatime": MountFlag.noAtime,
    "nodiratime": MountFlag.noDirAtime, "bind": MountFlag.bind, "rbind": MountFlag.bind | MountFlag.recursive,
    "relatime": MountFlag.relAtime, "strictatime": MountFlag.strictAtime, "lazytime": MountFlag.lazyTime,
  ]
  static let clearing: [String: UInt] = [
    "rw": MountFlag.readOnly, "suid": MountFlag.noSuid, "dev": MountFlag.noDev, "exec": MountFlag.noExec,
    "async": MountFlag.synchronous, "nomand": MountFlag.mandatoryLock, "atime": MountFlag.noAtime,
    "diratime": MountFlag.noDirAtime, "norelatime": MountFlag.relAtime, "nostrictatime": MountFlag.strictAtime,
    "nolazytime": MountFlag.lazyTime, "symfollow": MountFlag.noSymfollow,
  ]
  static let propagations: [String: UInt] = [
    "private": MountFlag.private, "rprivate": MountFlag.private | MountFlag.recursive,
    "shared": MountFlag.shared, "rshared": MountFlag.shared | MountFlag.recursive,
    "slave": MountFlag.slave, "rslave": MountFlag.slave | MountFlag.recursive,
    "unbindable": MountFlag.unbindable, "runbindable": MountFlag.unbindable | MountFlag.recursive,
  ]

  public init(_ options: [String]) {
    for option in options {
      if let flag = Self.setting[option] {
        flags |= flag
      } else if let flag = Self.clearing[option] {
        flags &= ~flag
      } else if let flag = Self.propagations[option] {
        propagation = flag
      } else {
        data.append(option)
      }
    }
  }

  /// The propagation flags for `linux.rootfsPropagation`.
  public static func propagation(_ name: String) -> UInt? { propagations[name] }
}
