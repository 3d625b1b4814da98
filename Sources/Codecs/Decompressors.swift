import CZlib
import CZstd

/// gzip decompression over another stream. Concatenated members are read as one stream (as gzip does);
/// anything else after the last member, or a member cut short, is an error rather than silently ignored.
public final class GzipStream: ByteStream {
  private let inner: ByteStream
  // zlib keeps a back pointer to its z_stream, so it lives at a fixed address, as does the input buffer
  // that next_in points into between calls.
  private let z = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
  private let input = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 17, alignment: 16)
  private var finished = false
  private var memberEnded = false

  public init(_ inner: ByteStream) {
    self.inner = inner
    z.initialize(to: z_stream())
    // 15 + 16: a gzip header and trailer are required (a raw zlib stream is not a gzip layer).
    let rc = inflateInit2_(z, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
    precondition(rc == Z_OK, "inflateInit2 failed: \(rc)")
  }

  deinit {
    inflateEnd(z)
    z.deallocate()
    input.deallocate()
  }

  public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
    if finished || buffer.count == 0 { return 0 }
    while true {
      if z.pointee.avail_in == 0 {
        let n = try inner.read(into: input)
        if n == 0 {
          if memberEnded {
            finished = true
            return 0
          }
          throw CodecError("gzip: stream truncated (ends inside a compressed member)")
        }
        z.pointee.next_in = input.baseAddress!.assumingMemoryBound(to: Bytef.self)
        z.pointee.avail_in = UInt32(n)
      }
      if memberEnded {
        // More bytes after a complete member: another member, or garbage.
        let next = z.pointee.next_in!
        let available = z.pointee.avail_in
        if available >= 1 && next[0] != 0x1f || available >= 2 && next[1] != 0x8b {
          throw CodecError("gzip: trailing garbage after the gzip stream")
        }
        inflateReset(z)
        memberEnded = false
      }
      z.pointee.next_out = buffer.baseAddress!.assumingMemoryBound(to: Bytef.self)
      z.pointee.avail_out = UInt32(buffer.count)
      let rc = inflate(z, Z_NO_FLUSH)
      let produced = buffer.count - Int(z.pointee.avail_out)
      switch rc {
      case Z_STREAM_END: memberEnded = true
      case Z_OK, Z_BUF_ERROR: break
      default:
        let msg = z.pointee.msg.map { String(cString: $0) } ?? "error \(rc)"
        throw CodecError("gzip: corrupt data (\(msg))")
      }
      if produced > 0 { return produced }
    }
  }
}

/// zstd decompression over another stream: any number of frames, then the end. A frame cut short is an error.
public final class ZstdStream: ByteStream {
  private let inner: ByteStream
  private let dctx: OpaquePointer = ZSTD_createDStream()
  private var input = [UInt8](repeating: 0, count: Int(ZSTD_DStreamInSize()))
  private var inPos = 0
  private var inSize = 0
  private var lastHint = 0
  private var sawData = false

  public init(_ inner: ByteStream) {
    self.inner = inner
    ZSTD_initDStream(dctx)
  }

  deinit { ZSTD_freeDStream(dctx) }

  public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
    if buffer.count == 0 { return 0 }
    while true {
      if inPos == inSize {
        inSize = try input.withUnsafeMutableBytes { try inner.read(into: $0) }
        inPos = 0
        if inSize == 0 {
          if lastHint != 0 || !sawData { throw CodecError("zstd: stream truncated (ends inside a frame)") }
          return 0
        }
        sawData = true
      }
      let (produced, consumed, hint) = input.withUnsafeBytes { inb in
        var inp = ZSTD_inBuffer(src: inb.baseAddress, size: inSize, pos: inPos)
        var out = ZSTD_outBuffer(dst: buffer.baseAddress, size: buffer.count, pos: 0)
        let r = ZSTD_decompressStream(dctx, &out, &inp)
        return (out.pos, inp.pos, r)
      }
      if ZSTD_isError(hint) != 0 {
        throw CodecError("zstd: corrupt data (\(String(cString: ZSTD_getErrorName(hint))))")
      }
      inPos = consumed
      lastHint = hint
      if produced > 0 { return produced }
    }
  }
}
