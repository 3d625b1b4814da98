import CContainerInit
import Glibc
import LinuxSystem

/// `--console-socket`: the Unix socket of whoever owns the container's terminal (containerd's shim,
/// `recvtty`). As runc does, the pty master is sent over it once, as SCM_RIGHTS, with its name as the
/// payload; the runtime keeps no copy, so the master closes when its receiver is done with it.
public enum ConsoleSocket {
  public static func send(master: Int32, to path: String) throws {
    let socketFD = FileDescriptor(
      adopting: try syscall("socket", path: path) {
        socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
      })
    let fd = socketFD.raw
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    let bytes = Array(path.utf8)
    guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
      throw RuntimeError("--console-socket \"\(path)\": path too long for a Unix socket")
    }
    withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
    _ = try syscall("connect", path: path) {
      withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
          connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
        }
      }
    }
    let name = Array("/dev/ptmx".utf8)
    _ = try syscall("sendmsg", path: path) {
      name.withUnsafeBytes { cfi_send_fd(fd, master, $0.baseAddress, $0.count) }
    }
  }
}
