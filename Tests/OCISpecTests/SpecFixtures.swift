import OCISpec

enum SpecFixtures {
  /// A valid configuration that sets every field crun-fast knows, with numbers at their types' limits.
  static let everyField = #"""
    {
      "ociVersion": "1.2.0",
      "process": {
        "terminal": true,
        "consoleSize": {"height": 24, "width": 18446744073709551615},
        "user": {"uid": 4294967295, "gid": 0, "umask": 18, "additionalGids": [1, 4294967295]},
        "args": ["/bin/sh", "-c", "echo \"hi\" \u00e9 \ud83d\ude00"],
        "env": ["PATH=/bin", "TERM=xterm"],
        "cwd": "/work",
        "capabilities": {
          "bounding": ["CAP_KILL"], "effective": ["CAP_KILL"], "inheritable": [], "permitted": ["CAP_KILL"],
          "ambient": ["CAP_NET_BIND_SERVICE"]
        },
        "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 18446744073709551615, "soft": 1024}],
        "noNewPrivileges": true,
        "oomScoreAdj": -1000,
        "apparmorProfile": "unconfined",
        "selinuxLabel": "system_u:system_r:container_t:s0"
      },
      "root": {"path": "rootfs", "readonly": true},
      "hostname": "box",
      "domainname": "example.org",
      "mounts": [
        {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec"]},
        {"destination": "/data", "type": "bind", "source": "/srv/data", "options": ["rbind", "ro"]}
      ],
      "hooks": {
        "prestart": [{"path": "/bin/a", "args": ["a", "1"], "env": ["X=1"], "timeout": 9223372036854775807}],
        "createRuntime": [{"path": "/bin/b", "args": [], "env": [], "timeout": 1}],
        "createContainer": [{"path": "/bin/c", "args": ["c"], "env": ["Y=2"], "timeout": 2}],
        "startContainer": [{"path": "/bin/d", "args": ["d"], "env": ["Z=3"], "timeout": 3}],
        "poststart": [{"path": "/bin/e", "args": ["e"], "env": ["W=4"], "timeout": 4}],
        "poststop": [{"path": "/bin/f", "args": ["f"], "env": ["V=5"], "timeout": 5}]
      },
      "annotations": {"org.lazyfs.store": "/var/lib/lazyfs", "a": "b"},
      "linux": {
        "namespaces": [
          {"type": "network", "path": "/proc/1/ns/net"}, {"type": "pid"}, {"type": "mount"}, {"type": "uts"},
          {"type": "user"}, {"type": "ipc"}, {"type": "cgroup"}
        ],
        "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
        "gidMappings": [{"containerID": 0, "hostID": 4294967295, "size": 1}],
        "devices": [
          {"type": "c", "path": "/dev/fuse", "major": -9223372036854775808, "minor": 229, "fileMode": 438,
           "uid": 0, "gid": 4294967295}
        ],
        "cgroupsPath": "/machine/box",
        "resources": {
          "devices": [{"allow": false, "type": "a", "major": -1, "minor": 9223372036854775807, "access": "rwm"}],
          "memory": {"limit": -1, "reservation": 1048576, "swap": 9223372036854775807, "swappiness": 60,
                     "disableOOMKiller": false},
          "cpu": {"shares": 1024, "quota": -1, "period": 100000, "cpus": "0-3", "mems": "0"},
          "pids": {"limit": -1},
          "blockIO": {"weight": 500, "leafWeight": 65535,
                      "weightDevice": [{"major": 8, "minor": 0, "weight": 10, "leafWeight": 1000}],
                      "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 18446744073709551615}],
                      "throttleWriteBpsDevice": [{"major": 8, "minor": 0, "rate": 0}],
                      "throttleReadIOPSDevice": [{"major": 8, "minor": 16, "rate": 1000}],
                      "throttleWriteIOPSDevice": [{"major": 253, "minor": 1, "rate": 2000}]}
        },
        "rootfsPropagation": "rslave",
        "seccomp": {
          "defaultAction": "SCMP_ACT_ERRNO",
          "defaultErrnoRet": 1,
          "architectures": ["SCMP_ARCH_X86_64"],
          "flags": ["SECCOMP_FILTER_FLAG_LOG"],
          "syscalls": [
            {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW", "errnoRet": 38,
             "args": [{"index": 5, "value": 18446744073709551615, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]}
          ]
        },
        "sysctl": {"net.ipv4.ip_forward": "1"},
        "maskedPaths": ["/proc/kcore"],
        "readonlyPaths": ["/proc/sys"]
      }
    }
    """#

  /// The paths of optional fields that are nil anywhere in `value`: what a fixture meant to set every
  /// field has left out. Only the first element of each array is looked into.
  static func nilFields(_ value: Any, path: String = "") -> [String] {
    let mirror = Mirror(reflecting: value)
    if mirror.displayStyle == .optional {
      guard let wrapped = mirror.children.first?.value else { return [path] }
      return nilFields(wrapped, path: path)
    }
    switch mirror.displayStyle {
    case .struct:
      return mirror.children.flatMap { nilFields($0.value, path: path + "." + ($0.label ?? "?")) }
    case .collection:
      return mirror.children.first.map { nilFields($0.value, path: path + "[0]") } ?? []
    default:
      return []
    }
  }
}
