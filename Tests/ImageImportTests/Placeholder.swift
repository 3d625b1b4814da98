import Testing
@testable import ImageImport
