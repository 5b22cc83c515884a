import NIOCore
@testable import SubsidyStore
import Testing

/// COPY's text format as the uploads and the generator write it.
@Suite("COPY text")
struct CopyTextTests {
    func text(_ write: (inout ByteBuffer) -> Void) -> String {
        var buffer = ByteBuffer()
        write(&buffer)
        return String(buffer: buffer)
    }

    @Test("cells: nil as \\N, backslash, tab, line feed and carriage return escaped; rows end with a line feed")
    func cells() {
        #expect(text { $0.writeCopyRow(["a", nil, "b\\c", "d\te", "f\ng\rh", "成都"]) } == "a\t\\N\tb\\\\c\td\\te\tf\\ng\\rh\t成都\n")
    }
}
