import LinuxSystem
import OCISpec

/// The devices every container gets (null, zero, full, random, urandom, tty), the configuration's own,
/// and /dev's conventional symlinks. Without a user namespace they are created with mknod; in one, where
/// mknod is not allowed, the host's nodes are bound over empty files.
extension MountPlan {
  public static let defaultDevices: [Spec.Device] = [
    device("/dev/null", 1, 3), device("/dev/zero", 1, 5), device("/dev/full", 1, 7),
    device("/dev/random", 1, 8), device("/dev/urandom", 1, 9), device("/dev/tty", 5, 0),
  ]

  static func device(_ path: String, _ major: Int64, _ minor: Int64) -> Spec.Device {
    Spec.Device(type: "c", path: path, major: major, minor: minor, fileMode: 0o666, uid: 0, gid: 0)
  }

  /// Default devices first; a configured device with the same path replaces the default.
  public var devices: [Spec.Device] {
    let configured = spec.linux?.devices ?? []
    let paths = Set(configured.map(\.path))
    return Self.defaultDevices.filter { !paths.contains($0.path) } + configured
  }

  func deviceSteps(_ join: SecureJoin) -> [PlanStep] {
    var steps: [PlanStep] = []
    for device in devices {
      let target = join.resolve(device.path)
      steps.append(.mkdir(Files.dirname(of: target)))
      if userNamespace {
        steps.append(PlanStep(.mkfile, target))
        steps.append(.mount(device.path, target, nil, MountFlag.bind))
      } else {
        var step = PlanStep(.mknod, target)
        let type: UInt32 =
          switch device.type {
          case "b": 0o060000
          case "p": 0o010000
          default: 0o020000
          }
        step.mode = type | ((device.fileMode ?? 0o666) & 0o7777)
        step.dev = DeviceNumber.make(UInt32(device.major ?? 0), UInt32(device.minor ?? 0))
        step.uid = device.uid ?? 0
        step.gid = device.gid ?? 0
        steps.append(step)
      }
    }
    let links = [
      ("/proc/self/fd", "/dev/fd"), ("/proc/self/fd/0", "/dev/stdin"), ("/proc/self/fd/1", "/dev/stdout"),
      ("/proc/self/fd/2", "/dev/stderr"), ("pts/ptmx", "/dev/ptmx"),
    ]
    for (source, path) in links { steps.append(.symlink(source, join.resolve(path))) }
    return steps
  }
}
