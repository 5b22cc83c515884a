import Foundation
public import SubsidyRules

/// SWIFT MT940 (customer statement) and MT942 (interim report), as banks send them: with or
/// without `{1:}{2:}{4:` block headers, CRLF or LF, header lines before `:20:`, `:86:` on several
/// lines or repeated, `:86:` with German `?NN` subfields or SEPA `/TAG/` subfields, and `:61:`
/// lines with or without entry date, funds code, bank reference and supplementary details.
public enum MT940Parser {
    struct Field {
        var tag: String
        var text: String
        var line: Int
    }

    /// The file is read a line at a time: each field goes to its statement once the next tag
    /// shows it complete, so that neither the file's lines nor its fields are held, only the
    /// entries (and with `keepingEntries` false not those either: see `EntryList`).
    public static func parse(
        _ text: String, maxEntries: Int = StatementLimits.maxEntries, keepingEntries: Bool = true
    ) throws(StatementError) -> [BankStatement] {
        var statements: [BankStatement] = []
        var current: Builder?
        func take(_ field: Field) throws(StatementError) {
            if field.tag == "20" {
                if let finished = current { statements.append(try finished.finish()) }
                current = Builder(line: field.line, keepingEntries: keepingEntries)
                return
            }
            guard current != nil else {
                throw StatementError(location: "line \(field.line)", message: ":\(field.tag): before the :20: that starts a statement")
            }
            try current!.add(field)
        }
        var reader = FieldReader(maxEntries: maxEntries)
        for rawLine in Lines(text) {
            if let complete = try reader.read(rawLine) { try take(complete) }
        }
        if let last = reader.pending { try take(last) }
        if let finished = current { statements.append(try finished.finish()) }
        guard !statements.isEmpty else {
            throw StatementError(location: "line 1", message: "no MT940 statement found (expected a :20: field)")
        }
        return statements
    }

    /// Turns lines into tagged fields with their line numbers; block headers, message
    /// separators and header lines before a statement are dropped. A field is complete when the
    /// next one starts (a field's text may go on over several lines), so `read` hands back the
    /// one before, and `pending` is the last.
    /// More than `maxEntries` `:61:` fields are refused as they are read.
    struct FieldReader {
        let maxEntries: Int
        private(set) var pending: Field?
        private var entries = 0
        private var number = 0

        init(maxEntries: Int) { self.maxEntries = maxEntries }

        mutating func read(_ rawLine: Substring) throws(StatementError) -> Field? {
            number += 1
            var line = String(rawLine)
            // Block-format messages: `{1:F01…}{2:O940…}{4:` opens the text block, `-}` closes it.
            // (Foundation's search only where a `{` is: it was 6 % of a statement's parse.)
            if line.utf8.contains(UInt8(ascii: "{")), let open = line.range(of: "{4:") {
                line = String(line[open.upperBound...])
            }
            if line.hasPrefix("{") || line.hasPrefix("-}") { return nil }
            let trimmed = line.trimmed(" \t")
            if trimmed == "-" || trimmed.hasPrefix("-}") || (trimmed.hasPrefix("-") && trimmed.count <= 4 && trimmed.dropFirst().allSatisfy(\.isLetter)) {
                return nil
            }
            if let (tag, rest) = tagged(line) {
                if tag == "61" {
                    entries += 1
                    guard entries <= maxEntries else { throw StatementLimits.tooManyEntries(maxEntries, location: "line \(number)") }
                }
                defer { pending = Field(tag: tag, text: rest, line: number) }
                return pending
            }
            if !trimmed.isEmpty, let last = pending, !isHeaderLine(trimmed, after: last) {
                pending!.text += "\n" + line
            }
            return nil
        }
    }

    /// The text's lines, split at CR LF, CR or LF — the same lines as splitting its characters
    /// at "\r\n", "\r" and "\n" (a CR or LF is always a character of its own, CR LF one), found
    /// in its UTF-8 bytes rather than by walking its characters (a tenth of a statement's parse),
    /// one at a time.
    struct Lines: Sequence, IteratorProtocol {
        let bytes: String.UTF8View
        var start: String.Index
        var done = false

        init(_ text: String) {
            bytes = text.utf8
            start = bytes.startIndex
        }

        mutating func next() -> Substring? {
            guard !done else { return nil }
            var index = start
            while index < bytes.endIndex {
                let byte = bytes[index]
                guard byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") else {
                    index = bytes.index(after: index)
                    continue
                }
                let line = Substring(bytes[start..<index])
                index = bytes.index(after: index)
                if byte == UInt8(ascii: "\r"), index < bytes.endIndex, bytes[index] == UInt8(ascii: "\n") { index = bytes.index(after: index) }
                start = index
                return line
            }
            done = true
            return Substring(bytes[start..<bytes.endIndex])
        }
    }

    static func lines(of text: String) -> [Substring] { Array(Lines(text)) }

    /// `:61:…` → ("61", "…"): two digits and an optional letter between colons.
    static func tagged(_ line: String) -> (String, String)? {
        // When the first six bytes (or all, if fewer) are ASCII, each of the first five is a
        // character of its own (no combining mark can follow), so bytes and characters agree:
        // read the bytes instead of making an array of the line's characters.
        let bytes = line.utf8
        if bytes.prefix(6).allSatisfy({ $0 < 0x80 }) {
            let head = Array(bytes.prefix(5))
            func digit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
            func letter(_ byte: UInt8) -> Bool { (byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "z") }
            guard head.count >= 4, head[0] == UInt8(ascii: ":"), digit(head[1]), digit(head[2]) else { return nil }
            if head[3] == UInt8(ascii: ":") { return (String(line.prefix(3).dropFirst()), String(line.dropFirst(4))) }
            if head.count >= 5, letter(head[3]), head[4] == UInt8(ascii: ":") {
                return (String(line.prefix(4).dropFirst()), String(line.dropFirst(5)))
            }
            return nil
        }
        return taggedByCharacters(line)
    }

    /// `tagged` read character by character: for lines whose first bytes are not all ASCII.
    static func taggedByCharacters(_ line: String) -> (String, String)? {
        let characters = Array(line)
        guard characters.count >= 4, characters[0] == ":", characters[1].isASCIIDigit, characters[2].isASCIIDigit else { return nil }
        if characters[3] == ":" { return (String(characters[1...2]), String(characters[4...])) }
        if characters.count >= 5, characters[3].isLetter, characters[4] == ":" {
            return (String(characters[1...3]), String(characters[5...]))
        }
        return nil
    }

    /// Lines between messages (`ABNANL2A`, `940`, `0000 01INGBNL2AXXXX00001`, `:940:`) are not
    /// continuations: they follow a closing balance or nothing.
    static func isHeaderLine(_ line: String, after field: Field) -> Bool {
        ["62F", "62M", "64", "65"].contains(field.tag) && !line.hasPrefix("?")
    }

    struct Builder {
        let line: Int
        var account = ""
        var statementNumber = ""
        var currency = ""
        var opening: StatementBalance?
        var closing: StatementBalance?
        var balances: [StatementBalance] = []
        var entries: EntryList
        var info: [String] = []
        var interim = false
        var lastTag = ""

        init(line: Int, keepingEntries: Bool) {
            self.line = line
            entries = EntryList(keeping: keepingEntries)
        }

        mutating func add(_ field: Field) throws(StatementError) {
            defer { if field.tag != "86" || lastTag != "61" { lastTag = field.tag } }
            let location = "line \(field.line)"
            switch field.tag {
            case "25": account = field.text.trimmed(" ")
            case "28", "28C": statementNumber = field.text.trimmed(" ")
            case "60F", "60M":
                let balance = try MT940Parser.balance(field.text, type: field.tag, location: location)
                opening = balance
                balances.append(balance)
                currency = balance.currency
            case "62F", "62M":
                let balance = try MT940Parser.balance(field.text, type: field.tag, location: location)
                closing = balance
                balances.append(balance)
                if currency.isEmpty { currency = balance.currency }
            case "64", "65":
                balances.append(try MT940Parser.balance(field.text, type: field.tag, location: location))
            case "34F", "13D", "90D", "90C", "13":
                interim = true
                if field.tag == "34F", currency.isEmpty { currency = String(field.text.prefix(3)) }
            case "61":
                entries.append(try MT940Parser.entry(field.text, currency: currency, location: location))
            case "86":
                // :86: belongs to the :61: just before it (several :86: in a row all do);
                // elsewhere it is statement-level information.
                if lastTag == "61", entries.count > 0 {
                    entries.updateLast { MT940Parser.describe(&$0, with: field.text) }
                } else {
                    info.append(field.text)
                }
            default:
                break  // :21:, :NS: and bank-specific fields carry nothing the reconciliation reads
            }
        }

        func finish() throws(StatementError) -> BankStatement {
            if !interim {
                guard opening != nil else { throw StatementError(location: "line \(line)", message: "statement has no :60F:/:60M: opening balance") }
                guard closing != nil else { throw StatementError(location: "line \(line)", message: "statement has no :62F:/:62M: closing balance") }
            }
            guard !account.isEmpty else { throw StatementError(location: "line \(line)", message: "statement has no :25: account") }
            var fixed = entries.kept
            for index in fixed.indices where fixed[index].currency.isEmpty { fixed[index].currency = currency }
            return BankStatement(
                account: account, currency: currency, statementNumber: statementNumber, openingBalance: opening, closingBalance: closing,
                balances: balances, entries: fixed, origin: "line \(line)", tally: entries.checkedOnly)
        }
    }

    /// `C110522EUR3236,28`: credit/debit mark, date YYMMDD, currency, amount.
    static func balance(_ text: String, type: String, location: String) throws(StatementError) -> StatementBalance {
        let characters = Array(text.trimmed(" "))
        guard characters.count >= 11, characters[0] == "C" || characters[0] == "D" else {
            throw StatementError(location: location, message: ":\(type): \"\(text)\" is not a balance (expected C/D, YYMMDD, currency, amount)")
        }
        let date = try self.date(String(characters[1...6]), location: location)
        let currency = String(characters[7...9])
        let amount = try StatementAmount.parse(String(characters[10...]), decimalMark: ",", location: location)
        return StatementBalance(type: type, amount: characters[0] == "D" ? Money(fen: -amount.fen) : amount, currency: currency, date: date)
    }

    static func date(_ text: String, location: String) throws(StatementError) -> CivilDate {
        guard text.count == 6, let value = Int(text), let date = CivilDate(
            year: (value / 10_000) < 80 ? 2000 + value / 10_000 : 1900 + value / 10_000, month: value / 100 % 100, day: value % 100)
        else {
            throw StatementError(location: location, message: "\"\(text)\" is not a date (expected YYMMDD)")
        }
        return date
    }

    /// `:61:` value date, [entry date MMDD], mark (C, D, RC, RD), [funds code], amount, type
    /// (N/F/S + 3), customer reference [//bank reference] [newline supplementary details].
    static func entry(_ text: String, currency: String, location: String) throws(StatementError) -> StatementEntry {
        let lines = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
        // An ASCII line's characters are its bytes (a field's text holds no CR): made from them,
        // without finding character boundaries (a quarter of the entry's time).
        let first = lines[0].utf8
        let ascii: [UInt8]? = first.allSatisfy({ $0 < 0x80 }) ? Array(first) : nil
        let characters = ascii.map { $0.map { Character(Unicode.Scalar($0)) } } ?? Array(lines[0])
        /// The text of characters `range`: from the bytes when they are the characters.
        func piece(_ range: Range<Int>) -> String {
            if let ascii { return String(decoding: ascii[range], as: UTF8.self) }
            return String(characters[range])
        }
        func fail(_ what: String) -> StatementError {
            StatementError(location: location, message: ":61: \"\(lines[0])\": \(what)")
        }
        guard characters.count >= 7 else { throw fail("too short") }
        let valueDate = try date(piece(0..<6), location: location)
        var index = 6
        var bookingDate: CivilDate?
        if characters.count >= index + 4, characters[index..<(index + 4)].allSatisfy(\.isASCIIDigit) {
            let month = Int(piece(index..<(index + 2)))!
            let day = Int(piece((index + 2)..<(index + 4)))!
            // The entry date takes the value date's year, or the next/previous one across New Year.
            var year = valueDate.year
            if valueDate.month == 12 && month == 1 { year += 1 }
            if valueDate.month == 1 && month == 12 { year -= 1 }
            bookingDate = CivilDate(year: year, month: month, day: day)
            guard bookingDate != nil else { throw fail("entry date \(month)-\(day) is not a real day") }
            index += 4
        }
        var sign: Int64
        let reversal = index + 1 < characters.count && characters[index] == "R"
        if index + 1 < characters.count, characters[index] == "R", characters[index + 1] == "C" || characters[index + 1] == "D" {
            sign = characters[index + 1] == "C" ? -1 : 1  // RC reverses a credit (money out), RD a debit
            index += 2
        } else if index < characters.count, characters[index] == "C" || characters[index] == "D" {
            sign = characters[index] == "C" ? 1 : -1
            index += 1
        } else {
            throw fail("expected the mark C, D, RC or RD after the date")
        }
        if index < characters.count, characters[index].isLetter { index += 1 }  // funds code (3rd currency letter)
        let amountStart = index
        while index < characters.count, characters[index].isASCIIDigit || characters[index] == "," { index += 1 }
        guard index > amountStart else { throw fail("no amount") }
        let amount = try StatementAmount.parse(piece(amountStart..<index), decimalMark: ",", location: location)
        guard index + 4 <= characters.count, characters[index] == "N" || characters[index] == "F" || characters[index] == "S" else {
            throw fail("expected the transaction type (N, F or S and three characters) after the amount")
        }
        let typeCode = piece((index + 1)..<(index + 4))
        index += 4
        let rest = piece(index..<characters.count)
        let parts = rest.components(separatedBy: "//")
        let reference = parts[0].trimmed(" ")
        let bankReference = parts.count > 1 ? parts[1...].joined(separator: "//").trimmed(" ") : nil
        let supplementary = lines.count > 1 ? String(lines[1]).trimmed(" \n") : ""
        // Some banks (Rabobank) put the counterparty's account on the supplementary line.
        let looksLikeAccount = supplementary.count >= 8 && supplementary.count <= 34 && !supplementary.contains(" ")
            && supplementary.allSatisfy { $0.isASCII && ($0.isNumber || $0.isUppercase) } && supplementary.contains(where: \.isNumber)
        var entry = StatementEntry(
            amount: Money(fen: sign * amount.fen), currency: currency, valueDate: valueDate, bookingDate: bookingDate,
            reference: reference.isEmpty || reference == "NONREF" ? nil : reference,
            bankReference: bankReference.flatMap { $0.isEmpty || $0 == "NONREF" ? nil : $0 },
            description: supplementary, counterparty: Counterparty(account: looksLikeAccount ? supplementary : nil), origin: location)
        // A reversal mark (RC, RD) or the SWIFT transaction type RTI (returned item).
        entry.flaggedReturn = reversal || typeCode == "RTI"
        return entry
    }

    /// Adds a `:86:` to an entry: its text to the description, and the counterparty and
    /// remittance from structured subfields when present.
    static func describe(_ entry: inout StatementEntry, with raw: String) {
        let structured = subfields(raw)
        var parts: [String] = entry.description.isEmpty ? [] : [entry.description]
        if let structured {
            if let remittance = structured.remittance, !remittance.isEmpty { parts.append(remittance) }
            if let name = structured.name, !name.isEmpty { entry.counterparty.name = name }
            if let account = structured.account, !account.isEmpty { entry.counterparty.account = account }
            if let other = structured.other, !other.isEmpty { parts.append(other) }
        } else {
            let text = raw.split(separator: "\n").map { $0.trimmed(" ") }.filter { !$0.isEmpty }.joined(separator: " ")
            if !text.isEmpty { parts.append(text) }
        }
        entry.description = parts.joined(separator: " ")
    }

    struct Subfields {
        var remittance: String?
        var name: String?
        var account: String?
        var other: String?
    }

    /// `?20…?29`/`?60…?63` purpose, `?31` account, `?32`/`?33` name (German banks); or `/REMI/`,
    /// `/NAME/`, `/IBAN/` (SEPA style). Lines are joined first: subfields wrap freely.
    static func subfields(_ raw: String) -> Subfields? {
        let joined = raw.split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.hasSuffix(" ") && !$0.trimmed(" ").isEmpty ? String($0.dropLast()) : String($0) }.joined()
        if let question = joined.firstIndex(of: "?"), joined.distance(from: joined.startIndex, to: question) <= 5 {
            var result = Subfields()
            var purpose: [String] = []
            var names: [String] = []
            for piece in joined.split(separator: "?").dropFirst() where piece.count >= 2 {
                let code = Int(piece.prefix(2)) ?? -1
                let value = String(piece.dropFirst(2)).trimmed(" ")
                switch code {
                case 0: result.other = value
                case 20...29, 60...63: purpose.append(value)
                case 31: result.account = value
                case 32, 33: names.append(value)
                case 38: result.account = value  // IBAN
                default: break
                }
            }
            // Subfields are joined with spaces for reading; matching ignores white space, so a
            // reference split across ?20/?21 is still found.
            result.remittance = purpose.joined(separator: " ")
            result.name = names.joined(separator: " ")
            return result
        }
        if joined.hasPrefix("/") {
            var result = Subfields()
            let tags = ["/EREF/", "/BENM/", "/ORDP/", "/NAME/", "/REMI/", "/IBAN/", "/BIC/", "/ISDT/", "/CSID/", "/MARF/", "/PREF/", "/ID/", "/ADDR/"]
            // The first tag in a text: one pass over its bytes, trying the tags at each `/` (the
            // first of the list wins at a position). Searching for each of the 13 tags with
            // Foundation's `range(of:)`, twice per tag found, was a third of a statement's parse.
            func firstTag(in text: Substring) -> (tag: String, range: Range<Substring.Index>)? {
                let bytes = text.utf8
                var from = bytes.startIndex
                while let slash = bytes[from...].firstIndex(of: UInt8(ascii: "/")) {
                    for tag in tags where bytes[slash...].starts(with: tag.utf8) {
                        return (tag, slash..<bytes.index(slash, offsetBy: tag.utf8.count))
                    }
                    from = bytes.index(after: slash)
                }
                return nil
            }
            var values: [String: String] = [:]
            var rest = Substring(joined)
            while let start = firstTag(in: rest) {
                rest = rest[start.range.upperBound...]
                let next = firstTag(in: rest)?.range.lowerBound ?? rest.endIndex
                values[start.tag, default: ""] += String(rest[..<next]).trimmed(" /")
                rest = rest[next...]
            }
            result.name = values["/NAME/"]
            result.remittance = values["/REMI/"]
            result.account = values["/IBAN/"]
            result.other = values["/EREF/"].map { "EREF \($0)" }
            return result
        }
        return nil
    }
}
