import CFuse
import Glibc

/// The one answer a FUSE request must get. Non-copyable, and every answer is `consuming`, so the compiler
/// rejects a handler that answers twice; one that returns without answering answers EIO in `deinit`
/// instead of leaving the caller blocked in the kernel for ever.
struct Reply: ~Copyable {
  let request: fuse_req_t

  init(_ request: fuse_req_t) { self.request = request }

  deinit { _ = fuse_reply_err(request, EIO) }

  /// The request, to be answered on another thread (`PendingReply.take`).
  consuming func handOff() -> PendingReply {
    let pending = PendingReply(request)
    discard self
    return pending
  }

  consuming func error(_ errno: Int32) {
    _ = fuse_reply_err(request, errno)
    discard self
  }

  /// For forget, which the kernel does not wait on.
  consuming func none() {
    fuse_reply_none(request)
    discard self
  }

  consuming func entry(_ e: fuse_entry_param) {
    var e = e
    _ = fuse_reply_entry(request, &e)
    discard self
  }

  consuming func attributes(_ st: stat, timeout: Double) {
    var st = st
    _ = fuse_reply_attr(request, &st, timeout)
    discard self
  }

  consuming func link(_ target: String) {
    _ = fuse_reply_readlink(request, target)
    discard self
  }

  consuming func open(_ fi: UnsafeMutablePointer<fuse_file_info>) {
    _ = fuse_reply_open(request, fi)
    discard self
  }

  consuming func bytes(_ buffer: UnsafeRawBufferPointer) {
    _ = fuse_reply_buf(request, buffer.baseAddress?.assumingMemoryBound(to: CChar.self), buffer.count)
    discard self
  }

  consuming func bytes(_ array: [UInt8]) {
    let request = self.request
    _ = array.withUnsafeBytes { fuse_reply_buf(request, $0.baseAddress?.assumingMemoryBound(to: CChar.self), $0.count) }
    discard self
  }

  /// Several buffers as one reply, gathered by the kernel's writev: a read spanning chunks needs no copy.
  consuming func vector(_ parts: [iovec]) {
    _ = parts.withUnsafeBufferPointer { fuse_reply_iov(request, $0.baseAddress, Int32($0.count)) }
    discard self
  }

  consuming func statfs(_ s: statvfs) {
    var s = s
    _ = fuse_reply_statfs(request, &s)
    discard self
  }

  /// The size an xattr value or list would have: the answer to a probe with a zero-sized buffer.
  consuming func xattrSize(_ count: Int) {
    _ = fuse_reply_xattr(request, count)
    discard self
  }
}

/// A request handed to another thread to answer. A class, so that it can cross into a closure; answered
/// EIO when dropped without being taken, as `Reply` is.
final class PendingReply: @unchecked Sendable {
  private var request: fuse_req_t?

  init(_ request: fuse_req_t) { self.request = request }

  deinit { if let request { _ = fuse_reply_err(request, EIO) } }

  /// The reply; once.
  func take() -> Reply {
    let r = Reply(request!)
    request = nil
    return r
  }
}
