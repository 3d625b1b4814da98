import CZstd
import Glibc

/// A zstd failure, with the library's own message.
public struct CodecError: Error, CustomStringConvertible, Sendable {
  public let description: String
  public init(_ description: String) { self.description = description }
}

/// One-shot zstd compression of whole chunks. Each chunk is a frame of its own that records its
/// decompressed size, so that any chunk can be decompressed alone, in any order.
public enum Zstd {
  /// Compresses `input` into a new array at `level`. A context is kept per thread (they are costly to make).
  ///
  /// `minMatch` overrides the level's shortest match when given. The store passes 4 at level 3: on image
  /// files (code, text, ELF) the 5-byte default misses short repeats, and 4 stored 0.9 % fewer bytes of
  /// the `python` fixture at about the same speed. The frames stay plain zstd: readers need nothing new.
  public static func compress(_ input: UnsafeRawBufferPointer, level: Int32, minMatch: Int32? = nil) -> [UInt8] {
    let bound = ZSTD_compressBound(input.count)
    var out = [UInt8](repeating: 0, count: bound)
    let cctx = ContextCache.cctx
    ZSTD_CCtx_reset(cctx, ZSTD_reset_session_and_parameters)
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level)
    if let minMatch { ZSTD_CCtx_setParameter(cctx, ZSTD_c_minMatch, minMatch) }
    let n = out.withUnsafeMutableBytes { o in
      ZSTD_compress2(cctx, o.baseAddress, bound, input.baseAddress, input.count)
    }
    precondition(ZSTD_isError(n) == 0, "ZSTD_compress2: \(String(cString: ZSTD_getErrorName(n)))")
    out.removeLast(bound - n)
    return out
  }

  /// Decompresses one frame into `output`, which must be exactly the frame's decompressed size.
  public static func decompress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws {
    let n = ZSTD_decompressDCtx(ContextCache.dctx, output.baseAddress, output.count, input.baseAddress, input.count)
    if ZSTD_isError(n) != 0 { throw CodecError("zstd: \(String(cString: ZSTD_getErrorName(n)))") }
    if n != output.count { throw CodecError("zstd: frame holds \(n) bytes, expected \(output.count)") }
  }

  /// Whether `bytes` start with a zstd frame's magic number (0xFD2FB528, little-endian).
  public static func isFrame(_ bytes: UnsafeRawBufferPointer) -> Bool {
    bytes.count >= 4 && bytes.loadUnaligned(as: UInt32.self) == UInt32(littleEndian: 0xFD2F_B528)
  }

  /// The decompressed size a frame records, refusing a frame that does not record it or claims more than
  /// `limit` bytes (so that a hostile header cannot make us allocate at will).
  public static func frameContentSize(_ input: UnsafeRawBufferPointer, limit: Int) throws -> Int {
    let size = ZSTD_getFrameContentSize(input.baseAddress, input.count)
    if size == ZSTD_CONTENTSIZE_ERROR { throw CodecError("zstd: not a valid frame") }
    if size == ZSTD_CONTENTSIZE_UNKNOWN { throw CodecError("zstd: the frame does not record its size") }
    guard size <= UInt64(limit) else { throw CodecError("zstd: the frame claims \(size) bytes, over \(limit)") }
    return Int(size)
  }

  /// Decompresses one frame that records its decompressed size (at most `limit` bytes).
  public static func decompressFrame(_ input: UnsafeRawBufferPointer, limit: Int) throws -> [UInt8] {
    // Not zero-filled first: the frame writes every byte, and first touches of fresh pages are dear.
    try [UInt8](unsafeUninitializedCapacity: try frameContentSize(input, limit: limit)) { buffer, count in
      try decompress(input, into: UnsafeMutableRawBufferPointer(buffer))
      count = buffer.count
    }
  }

  /// `bytes` decompressed when they are one zstd frame, as they are otherwise: for files that may have
  /// been written either way (image indexes).
  public static func decompressIfFrame(_ bytes: UnsafeRawBufferPointer, limit: Int) throws -> [UInt8] {
    isFrame(bytes) ? try decompressFrame(bytes, limit: limit) : Array(bytes)
  }

  /// Per-thread compression and decompression contexts, created on first use and kept for the thread's life.
  private enum ContextCache {
    static var cctx: OpaquePointer { ThreadContexts.current.cctx }
    static var dctx: OpaquePointer { ThreadContexts.current.dctx }
  }
}

/// Holds one thread's zstd contexts in thread-local storage (pthread keys; contexts freed when the thread exits).
final class ThreadContexts {
  let cctx: OpaquePointer = ZSTD_createCCtx()
  let dctx: OpaquePointer = ZSTD_createDCtx()
  deinit {
    ZSTD_freeCCtx(cctx)
    ZSTD_freeDCtx(dctx)
  }

  private static let key: pthread_key_t = {
    var k = pthread_key_t()
    pthread_key_create(&k) { p in if let p { Unmanaged<ThreadContexts>.fromOpaque(p).release() } }
    return k
  }()

  static var current: ThreadContexts {
    if let p = pthread_getspecific(key) { return Unmanaged<ThreadContexts>.fromOpaque(p).takeUnretainedValue() }
    let c = ThreadContexts()
    _ = pthread_setspecific(key, Unmanaged.passRetained(c).toOpaque())
    return c
  }
}
