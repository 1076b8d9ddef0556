import Testing
@testable import Investigation
