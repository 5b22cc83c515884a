/// A JSON document with ordered object keys, written by hand so that responses keep the
/// contract's field order and amounts are always the strings formatted from 分 — no number
/// ever passes through a floating-point encoder.
public indirect enum JSONValue: Sendable, Hashable {
    case string(String)
    case int(Int)
    case bool(Bool)
    case null
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool { lhs.serialized() == rhs.serialized() }
    public func hash(into hasher: inout Hasher) { hasher.combine(serialized()) }

    /// The document as UTF-8 text; `pretty` indents by two spaces.
    public func serialized(pretty: Bool = false) -> String {
        String(decoding: utf8(pretty: pretty), as: UTF8.self)
    }

    /// The document as UTF-8 bytes, written into one buffer.
    public func utf8(pretty: Bool = false) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(4096)
        write(to: &out, pretty: pretty, indent: 0)
        return out
    }

    private func write(to out: inout [UInt8], pretty: Bool, indent: Int) {
        switch self {
        case .string(let text): JSONValue.writeString(text, to: &out)
        case .int(let value): out.append(contentsOf: String(value).utf8)
        case .bool(let value): out.append(contentsOf: (value ? "true" : "false").utf8)
        case .null: out.append(contentsOf: "null".utf8)
        case .array(let values):
            guard !values.isEmpty else { out.append(contentsOf: "[]".utf8); return }
            out.append(UInt8(ascii: "["))
            for (index, value) in values.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                if pretty { JSONValue.newline(&out, indent + 1) }
                value.write(to: &out, pretty: pretty, indent: indent + 1)
            }
            if pretty { JSONValue.newline(&out, indent) }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            guard !members.isEmpty else { out.append(contentsOf: "{}".utf8); return }
            out.append(UInt8(ascii: "{"))
            for (index, (key, value)) in members.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                if pretty { JSONValue.newline(&out, indent + 1) }
                JSONValue.writeString(key, to: &out)
                out.append(UInt8(ascii: ":"))
                if pretty { out.append(UInt8(ascii: " ")) }
                value.write(to: &out, pretty: pretty, indent: indent + 1)
            }
            if pretty { JSONValue.newline(&out, indent) }
            out.append(UInt8(ascii: "}"))
        }
    }

    private static func newline(_ out: inout [UInt8], _ indent: Int) {
        out.append(UInt8(ascii: "\n"))
        for _ in 0..<(indent * 2) { out.append(UInt8(ascii: " ")) }
    }

    /// Writes a JSON string: UTF-8 passes through, only `"`, `\\` and control characters are escaped.
    /// The runs between them are copied whole (a batch writes 1.6 million explanation steps whose
    /// texts rarely hold any: a byte-at-a-time append was 6 % of a province computation's CPU).
    static func writeString(_ text: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { bytes in
            var start = 0
            for index in bytes.indices {
                let byte = bytes[index]
                guard byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20 else { continue }
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<index]))
                start = index + 1
                switch byte {
                case UInt8(ascii: "\""): out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "\""))
                case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "\\"))
                case UInt8(ascii: "\n"): out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "n"))
                case UInt8(ascii: "\r"): out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "r"))
                case UInt8(ascii: "\t"): out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "t"))
                default:
                    let hex = Array("0123456789abcdef".utf8)
                    out.append(contentsOf: Array("\\u00".utf8))
                    out.append(hex[Int(byte >> 4)])
                    out.append(hex[Int(byte & 0xF)])
                }
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start...]))
        }
        out.append(UInt8(ascii: "\""))
    }
}

extension InputError {
    /// `{"error": "...", "field": "..."}`, the contract's error document.
    public var json: JSONValue {
        .object([("error", .string(message)), ("field", .string(field))])
    }
}

extension CalculationResult {
    /// The response document of CALCULATOR.md. Extra fields (`policyVersion`, `recipientName`,
    /// `kind`, `records`, `item`, `record`, `inputs`, `code`, `reasonZh`) are additions the
    /// contract allows.
    public var json: JSONValue {
        .object([
            ("program", .string(program.rawValue)),
            ("year", .int(year)),
            ("total", .string(total.plain)),
            ("awards", .array(awards.map(\.json))),
            ("excluded", .array(excluded.map(\.json))),
            ("policyVersion", .string(policyVersion)),
        ])
    }
}

extension Award {
    var json: JSONValue {
        .object([
            ("recipient", .string(recipient)),
            ("recipientName", .string(recipientName)),
            ("amount", .string(amount.plain)),
            ("items", .array(items.map(\.json))),
            ("explanation", .array(explanation.map(\.json))),
        ])
    }
}

extension AwardItem {
    var json: JSONValue {
        var members: [(String, JSONValue)] = [("id", .string(id)), ("amount", .string(amount.plain)), ("kind", .string(kind.rawValue))]
        if !records.isEmpty { members.append(("records", .array(records.map(JSONValue.string)))) }
        return .object(members)
    }
}

extension ExplanationStep {
    var json: JSONValue {
        var members: [(String, JSONValue)] = [
            ("rule", .string(rule)), ("clause", .string(clause)), ("text", .string(text)),
            ("amount", amount.map { .string($0.plain) } ?? .null),
        ]
        if let item { members.append(("item", .string(item))) }
        if let record { members.append(("record", .string(record))) }
        if !inputs.isEmpty { members.append(("inputs", .object(inputs.map { ($0.key, .string($0.value)) }))) }
        return .object(members)
    }
}

extension Exclusion {
    var json: JSONValue {
        .object([
            ("id", .string(id)), ("reason", .string(reason)), ("reasonZh", .string(reasonZh)),
            ("kind", .string(kind.rawValue)), ("code", .string(code)), ("recipient", .string(recipient)),
        ])
    }
}
