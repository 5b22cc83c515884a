/// Splits a SQL script into statements. PostgresNIO speaks only the extended query protocol,
/// which takes one statement per query, so a migration file is run statement by statement.
/// Semicolons inside quotes (`'…'`, `"…"`), dollar-quoted bodies (`$$…$$`, `$fn$…$fn$`) and
/// comments (`-- …`, `/* … */`) do not end a statement.
public enum SQLScript {
    public static func statements(_ script: String) -> [String] {
        let bytes = Array(script.utf8)
        var statements: [String] = []
        var start = 0
        var index = 0
        var hasContent = false
        func flush(_ end: Int) {
            if hasContent {
                let text = String(decoding: bytes[start..<end], as: UTF8.self).trimmingWhitespace()
                if !text.isEmpty { statements.append(text) }
            }
            start = end + 1
            hasContent = false
        }
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "-") where index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "-"):
                while index < bytes.count, bytes[index] != UInt8(ascii: "\n") { index += 1 }
                continue
            case UInt8(ascii: "/") where index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "*"):
                index += 2
                while index + 1 < bytes.count, !(bytes[index] == UInt8(ascii: "*") && bytes[index + 1] == UInt8(ascii: "/")) { index += 1 }
                index += 2
                continue
            case UInt8(ascii: "'"), UInt8(ascii: "\""):
                hasContent = true
                index += 1
                while index < bytes.count {
                    if bytes[index] == byte {
                        // A doubled quote is an escaped quote inside the literal.
                        if index + 1 < bytes.count, bytes[index + 1] == byte { index += 2; continue }
                        break
                    }
                    index += 1
                }
            case UInt8(ascii: "$"):
                hasContent = true
                // A dollar-quote tag: $tag$ where tag is empty or an identifier.
                var end = index + 1
                while end < bytes.count, bytes[end] == UInt8(ascii: "_") || (bytes[end] >= UInt8(ascii: "a") && bytes[end] <= UInt8(ascii: "z"))
                    || (bytes[end] >= UInt8(ascii: "A") && bytes[end] <= UInt8(ascii: "Z")) || (end > index + 1 && bytes[end] >= UInt8(ascii: "0") && bytes[end] <= UInt8(ascii: "9"))
                {
                    end += 1
                }
                if end < bytes.count, bytes[end] == UInt8(ascii: "$") {
                    let tag = Array(bytes[index...end])
                    var search = end + 1
                    while search + tag.count <= bytes.count, !bytes[search..<(search + tag.count)].elementsEqual(tag) { search += 1 }
                    index = min(search + tag.count, bytes.count)
                    continue
                }
            case UInt8(ascii: ";"):
                flush(index)
            case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\t"), UInt8(ascii: "\r"):
                break
            default:
                hasContent = true
            }
            index += 1
        }
        flush(bytes.count)
        return statements
    }
}

extension String {
    func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[first...last])
    }
}
