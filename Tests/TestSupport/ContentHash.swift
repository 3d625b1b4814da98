import Codecs

/// SHA-256 of a file's bytes (lowercase hex), read with `read(2)`: an error (EIO) is thrown, never papered over.
public func contentHash(_ path: String) throws -> String {
  let digesting = DigestingStream(try FileStream(path: path))
  try digesting.drain()
  return digesting.finalize().hex
}
