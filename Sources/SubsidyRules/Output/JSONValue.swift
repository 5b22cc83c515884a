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
        var out = ""
        out.reserveCapacity(256)
        write(to: &out, pretty: pretty, indent: 0)
        return out
    }

    private func write(to out: inout String, pretty: Bool, indent: Int) {
        switch self {
        case .string(let text): JSONValue.writeString(text, to: &out)
        case .int(let value): out += String(value)
        case .bool(let value): out += value ? "true" : "false"
        case .null: out += "null"
        case .array(let values):
            guard !values.isEmpty else { out += "[]"; return }
            out += "["
            for (index, value) in values.enumerated() {
                if index > 0 { out += "," }
                if pretty { newline(&out, indent + 1) }
                value.write(to: &out, pretty: pretty, indent: indent + 1)
            }
            if pretty { newline(&out, indent) }
            out += "]"
        case .object(let members):
            guard !members.isEmpty else { out += "{}"; return }
            out += "{"
            for (index, (key, value)) in members.enumerated() {
                if index > 0 { out += "," }
                if pretty { newline(&out, indent + 1) }
                JSONValue.writeString(key, to: &out)
                out += pretty ? ": " : ":"
                value.write(to: &out, pretty: pretty, indent: indent + 1)
            }
            if pretty { newline(&out, indent) }
            out += "}"
        }
    }

    private func newline(_ out: inout String, _ indent: Int) {
        out += "\n"
        out += String(repeating: "  ", count: indent)
    }

    static func writeString(_ text: String, to out: inout String) {
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
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
