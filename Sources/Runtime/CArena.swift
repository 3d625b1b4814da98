import Glibc

/// Owns the C memory (strings, arrays) that the plain structs handed to CContainerInit point into.
/// Everything is allocated before clone, so the child only reads; it is freed when the arena goes.
final class CArena {
  private var blocks: [UnsafeMutableRawPointer] = []

  deinit { for block in blocks { free(block) } }

  func string(_ value: String?) -> UnsafePointer<CChar>? {
    guard let value, let copy = strdup(value) else { return nil }
    blocks.append(copy)
    return UnsafePointer(copy)
  }

  func array<T>(_ values: [T]) -> UnsafePointer<T>? {
    guard !values.isEmpty, let raw = malloc(MemoryLayout<T>.stride * values.count) else { return nil }
    blocks.append(raw)
    let typed = raw.bindMemory(to: T.self, capacity: values.count)
    typed.initialize(from: values, count: values.count)
    return UnsafePointer(typed)
  }

  func bytes(_ values: [UInt8]) -> UnsafeRawPointer? { array(values).map { UnsafeRawPointer($0) } }

  /// A NULL-terminated array of C strings, as execve wants argv and envp.
  func strings(_ values: [String]) -> UnsafePointer<UnsafePointer<CChar>?>? {
    array(values.map { string($0) } + [nil])
  }
}
