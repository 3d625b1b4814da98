import Testing
@testable import ChunkStore
