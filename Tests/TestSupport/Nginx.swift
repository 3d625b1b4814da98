import Foundation
import Glibc

/// A real nginx (Debian's) serving a directory on a loopback port, for as long as the test needs it.
/// `stop` and `start` again keep the port, so a test can take a server away and bring it back.
public final class Nginx {
  public let root: String
  public let port: Int
  private let dir: String
  private var process: Spawned?

  public var url: String { "http://127.0.0.1:\(port)" }

  public init(serving root: String, scratch dir: String) throws {
    self.root = root
    self.dir = dir
    port = Int.random(in: 20000...60000)
    try start()
  }

  public func start() throws {
    let conf = """
      user root;
      worker_processes 2;
      daemon off;
      pid \(dir)/nginx.pid;
      error_log \(dir)/error.log;
      events { worker_connections 256; }
      http {
        access_log off;
        client_body_temp_path \(dir)/body;
        proxy_temp_path \(dir)/proxy;
        fastcgi_temp_path \(dir)/fastcgi;
        uwsgi_temp_path \(dir)/uwsgi;
        scgi_temp_path \(dir)/scgi;
        server { listen 127.0.0.1:\(port); root \(root); }
      }
      """
    try conf.write(toFile: "\(dir)/nginx.conf", atomically: true, encoding: .utf8)
    let p = try Spawned("/usr/sbin/nginx", ["-c", "\(dir)/nginx.conf", "-p", dir])
    process = p
    // Ready when it answers.
    for _ in 0..<200 {
      if connects() { return }
      guard p.isRunning else { break }
      usleep(10_000)
    }
    throw NSError(domain: "nginx did not start; see \(dir)/error.log", code: 1)
  }

  public func stop() {
    guard let p = process else { return }
    p.signal(SIGTERM)
    _ = try? p.wait(timeout: 30)
    process = nil
    // Its workers may still hold the port for a moment; a port still answering after that is someone else's.
    for _ in 0..<1000 where connects() { usleep(10_000) }
  }

  deinit { stop() }

  /// Stops (SIGSTOP) or continues (SIGCONT) the server and its workers: a server that hangs, not one
  /// that is gone (connections are accepted by the kernel and never answered).
  public func freeze(_ frozen: Bool) {
    guard let master = process?.pid else { return }
    let sig = frozen ? SIGSTOP : SIGCONT
    var pids = [master]
    for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
      guard let pid = Int32(name), let stat = try? String(contentsOfFile: "/proc/\(name)/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")")
      else { continue }
      let fields = stat[stat.index(after: close)...].split(separator: " ")
      if fields.count > 2, Int32(fields[1]) == master { pids.append(pid) }
    }
    for pid in pids { kill(pid, sig) }
  }

  private func connects() -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = in_port_t(UInt16(port).bigEndian)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    return withUnsafePointer(to: &addr) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
      }
    }
  }
}
