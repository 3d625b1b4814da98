import CZlib
import CZstd
import Glibc
import LinuxSystem

/// A source of bytes read front to back: a file, a pipe, or a decompressor over another stream.
/// Layers are read through a chain of these (file → digest check → gunzip → tar) without buffering whole layers.
public protocol ByteStream: AnyObject {
  /// Reads up to `buffer.count` bytes; returns 0 only at the end of the stream.
  func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
}

extension ByteStream {
  /// Reads until `buffer` is full or the stream ends; returns the count read.
  public func readFully(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
    var done = 0
    while done < buffer.count {
      let n = try read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[done...]))
      if n == 0 { break }
      done += n
    }
    return done
  }

  /// Reads and discards the rest of the stream; returns how many bytes that was.
  @discardableResult
  public func drain() throws -> Int64 {
    var buf = [UInt8](repeating: 0, count: 1 << 16)
    var total: Int64 = 0
    while true {
      let n = try buf.withUnsafeMutableBytes { try read(into: $0) }
      if n == 0 { return total }
      total += Int64(n)
    }
  }
}

/// Bytes of an open file descriptor (a file, a pipe, standard input).
public final class FileStream: ByteStream {
  public let fd: FileDescriptor
  public init(_ fd: consuming FileDescriptor) { self.fd = fd }
  public convenience init(path: String) throws {
    self.init(try FileDescriptor.open(path, O_RDONLY))
  }
  public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int { try fd.read(into: buffer) }
}

/// Bytes of an in-memory array (tests, small manifests).
public final class MemoryStream: ByteStream {
  private let bytes: [UInt8]
  private var position = 0
  public init(_ bytes: [UInt8]) { self.bytes = bytes }
  public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
    let n = min(buffer.count, bytes.count - position)
    bytes.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress! + position, byteCount: n) }
    position += n
    return n
  }
}

/// Passes bytes through while hashing them and counting them: how a layer's digest is checked as it is read.
public final class DigestingStream: ByteStream {
  private let inner: ByteStream
  private var hasher: SHA256Hasher? = SHA256Hasher()
  public private(set) var count: Int64 = 0
  public init(_ inner: ByteStream) { self.inner = inner }
  public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
    let n = try inner.read(into: buffer)
    hasher!.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
    count += Int64(n)
    return n
  }
  /// The digest of every byte read so far; call once, after the stream has been read to its end.
  public func finalize() -> Digest {
    let h = hasher.take()!
    return h.finalize()
  }
}

/// The compression a layer or archive uses, known from its first bytes (media types are advisory; magic is not).
public enum Compression: String, Sendable {
  case none, gzip, zstd

  public static func detect(_ head: [UInt8]) -> Compression {
    if head.count >= 2 && head[0] == 0x1f && head[1] == 0x8b { return .gzip }
    if head.count >= 4 && head[0] == 0x28 && head[1] == 0xb5 && head[2] == 0x2f && head[3] == 0xfd { return .zstd }
    return .none
  }

  /// Wraps `stream` in the right decompressor after peeking at its first bytes.
  public static func decompressing(_ stream: ByteStream) throws -> ByteStream {
    try detecting(stream).stream
  }

  /// Like `decompressing`, and says which compression it found.
  public static func detecting(_ stream: ByteStream) throws -> (stream: ByteStream, compression: Compression) {
    var head = [UInt8](repeating: 0, count: 4)
    let n = try head.withUnsafeMutableBytes { try stream.readFully(into: $0) }
    head.removeLast(4 - n)
    let replay = PrefixedStream(prefix: head, inner: stream)
    let compression = detect(head)
    switch compression {
    case .none: return (replay, compression)
    case .gzip: return (GzipStream(replay), compression)
    case .zstd: return (ZstdStream(replay), compression)
    }
  }
}

/// A few bytes already read, followed by the rest of a stream.
final class PrefixedStream: ByteStream {
  private var prefix: [UInt8]
  private let inner: ByteStream
  init(prefix: [UInt8], inner: ByteStream) {
    self.prefix = prefix
    self.inner = inner
  }
  func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
    if prefix.isEmpty { return try inner.read(into: buffer) }
    let n = min(prefix.count, buffer.count)
    prefix.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: n) }
    prefix.removeFirst(n)
    return n
  }
}
