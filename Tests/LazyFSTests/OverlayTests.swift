import Foundation
import Glibc
import LinuxSystem
import TestSupport
import Testing

/// The use lazyfs is for: the read-only lower layer of a container's overlay root.
@Suite("A mount as an overlay lower layer")
struct OverlayTests {
  @Test(
    "python with numpy runs in a chroot on overlay(lazyfs); writes land in the upper layer only",
    .enabled(if: Fixture.available("python") && Files.exists("/usr/sbin/chroot")), arguments: Transport.available)
  func numpyInChroot(transport: Transport) throws {
    let image = try PreparedImage.python.get()
    try withMount(image, transport: transport) { lower in
      let dir = try TempDir("lazyfs-overlay")
      defer { dir.remove() }
      try withOverlay(lower: lower, in: dir) { merged, upper in
        let python = try run(
          "/usr/sbin/chroot", [merged, "/usr/bin/python3", "-c", "import numpy; print(numpy.arange(6).sum())"])
        #expect(python.status == 0, "\(python.stderr)")
        #expect(python.stdout == "15\n")

        let write = try run(
          "/usr/sbin/chroot", [merged, "/bin/sh", "-c", "echo written > /root/from-chroot && rm /etc/hostname"])
        #expect(write.status == 0, "\(write.stderr)")
        #expect(try Files.read(upper + "/root/from-chroot") == Array("written\n".utf8))
        #expect(!Files.exists(lower + "/root/from-chroot"))
        // The deletion is a whiteout in the upper layer; the lower still has the file.
        #expect(Files.exists(lower + "/etc/hostname") == Files.exists(image.export + "/etc/hostname"))
        #expect(!Files.exists(merged + "/etc/hostname"))
        #expect(
          try TreeSnapshot(lower, inodes: true).differences(from: TreeSnapshot(image.export, inodes: true)).isEmpty)
      }
    }
  }
}
