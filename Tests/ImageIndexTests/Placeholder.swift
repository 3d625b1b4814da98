import Testing
@testable import ImageIndex
