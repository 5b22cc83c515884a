public import Foundation
public import SubsidyRules

/// Reads a statement file of any supported format into the normalized shape.
public enum StatementParser {
    /// `format` nil: detected (XML → camt.053, `:20:`/`:61:` tags → MT940, else CSV). `profile`
    /// names a CSV column profile (default `generic`).
    /// `maxEntries`: the most entries the file may hold (`StatementLimits.maxEntries`; tests lower it).
    /// `keepingEntries` false checks the file the same way without holding its entries: each is
    /// read, checked, counted and summed (`BankStatement.tally`), then dropped.
    public static func parse(
        _ data: Data, format: StatementFormat? = nil, profile: String? = nil, maxEntries: Int = StatementLimits.maxEntries,
        keepingEntries: Bool = true
    ) throws(StatementError) -> ParsedStatements {
        guard data.count <= StatementLimits.maxFileBytes else {
            throw StatementError(location: "file", message: "\(data.count) bytes: a statement file may have at most \(StatementLimits.maxFileBytes >> 20) MiB")
        }
        let parsed = try parseFormat(data, format: format, profile: profile, maxEntries: maxEntries, keepingEntries: keepingEntries)
        try check(parsed)
        return parsed
    }

    /// The bounds every format shares: statements, and sums that fit. (Entries past the limit are
    /// refused by each parser as it reads them.)
    static func check(_ parsed: ParsedStatements) throws(StatementError) {
        guard parsed.statements.count <= StatementLimits.maxStatements else {
            throw StatementError(location: "file", message: "\(parsed.statements.count) statements: at most \(StatementLimits.maxStatements) in one file")
        }
        for statement in parsed.statements {
            let bothBalances = statement.openingBalance != nil && statement.closingBalance != nil
            guard statement.entriesTotal != nil, !bothBalances || statement.balanceDifference != nil else {
                throw StatementError(location: statement.origin, message: "the entries and balances add up past what can be counted: refused")
            }
        }
    }

    static func parseFormat(
        _ data: Data, format: StatementFormat?, profile: String?, maxEntries: Int, keepingEntries: Bool
    ) throws(StatementError) -> ParsedStatements {
        let chosen = format ?? detect(data)
        switch chosen {
        case .camt053:
            return ParsedStatements(format: .camt053, statements: try Camt053Parser.parse(data, maxEntries: maxEntries, keepingEntries: keepingEntries))
        case .mt940:
            guard let text = String(data: data, encoding: .utf8) ?? String(data: data, encoding: .isoLatin1) else {
                throw StatementError(location: "line 1", message: "the MT940 file is not text")
            }
            return ParsedStatements(format: .mt940, statements: try MT940Parser.parse(text, maxEntries: maxEntries, keepingEntries: keepingEntries))
        case .csv:
            let name = profile ?? "generic"
            guard let found = BankCSVProfiles.named(name) else {
                throw StatementError(location: "--profile", message: "unknown CSV profile \"\(name)\": \(BankCSVProfiles.all.map(\.name).joined(separator: ", "))")
            }
            return ParsedStatements(format: .csv, statements: try BankCSVParser.parse(data, profile: found, maxEntries: maxEntries, keepingEntries: keepingEntries))
        }
    }

    public static func detect(_ data: Data) -> StatementFormat {
        let head = String(decoding: data.prefix(4096), as: UTF8.self)
        let trimmed = head.drop { $0 == "\u{FEFF}" || $0.isWhitespace }
        if trimmed.hasPrefix("<") { return .camt053 }
        if head.contains(":20:") && (head.contains(":61:") || head.contains(":60F:") || head.contains(":60M:") || head.contains(":34F:")) {
            return .mt940
        }
        return .csv
    }
}

extension ParsedStatements {
    /// The normalized statement document of `subsidy statement parse`.
    public var json: JSONValue {
        func balance(_ balance: StatementBalance?) -> JSONValue {
            guard let balance else { return .null }
            return .object([("amount", .string(balance.amount.plain)), ("date", balance.date.map { .string($0.description) } ?? .null)])
        }
        func optional(_ text: String?) -> JSONValue { text.map(JSONValue.string) ?? .null }
        return .object([
            ("format", .string(format.rawValue)),
            ("statements", .array(statements.map { statement in
                var members: [(String, JSONValue)] = [
                    ("account", .string(statement.account)), ("currency", .string(statement.currency)),
                    ("statementNumber", .string(statement.statementNumber)),
                    ("openingBalance", balance(statement.openingBalance)), ("closingBalance", balance(statement.closingBalance)),
                    ("entries", .array(statement.entries.map { entry in
                        var fields: [(String, JSONValue)] = [
                            ("amount", .string(entry.amount.plain)), ("currency", .string(entry.currency)),
                            ("valueDate", entry.valueDate.map { .string($0.description) } ?? .null),
                            ("bookingDate", entry.bookingDate.map { .string($0.description) } ?? .null),
                            ("reference", optional(entry.reference)), ("bankReference", optional(entry.bankReference)),
                            ("description", .string(entry.description)),
                            ("counterparty", .object([("name", optional(entry.counterparty.name)), ("account", optional(entry.counterparty.account))])),
                        ]
                        if let count = entry.batchCount { fields.append(("batchCount", .int(count))) }
                        return .object(fields)
                    })),
                    ("balances", .array(statement.balances.map { balance in
                        .object([("type", .string(balance.type)), ("amount", .string(balance.amount.plain)), ("currency", .string(balance.currency)),
                                 ("date", balance.date.map { .string($0.description) } ?? .null)])
                    })),
                ]
                if let difference = statement.balanceDifference {
                    members.append(("balanceCheck", .object([
                        ("balanced", .bool(difference == .zero)), ("difference", .string(difference.plain)),
                    ])))
                }
                return .object(members)
            })),
        ])
    }
}
