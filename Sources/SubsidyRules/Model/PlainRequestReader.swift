import Foundation

// The calculator's request read straight from its bytes, for the plain form that clients send: the
// fields of CALCULATOR.md, strings without escapes, whole-number years. Foundation's JSONDecoder
// was 29 % of the server's samples under `wrk` on a 1.5 KB request; no faster JSON reader is in the
// package mirror, so this one is written for the one document it reads.
//
// It gives the same transfer types as JSONDecoder or nothing: at the first thing it does not
// handle, whether wrong or only unusual (an escape, an unknown or repeated key, a null where a
// value is required, a number that is not a plain whole number, bytes that are not UTF-8 or not
// JSON), it returns nil and the request goes to JSONDecoder, which accepts it or refuses it with
// the same error as always. `RequestReaderTests` holds the two readers equal over random and
// damaged requests.

struct PlainRequestReader {
    /// Why the plain reader stopped; the caller falls back to JSONDecoder.
    struct Unhandled: Error {}

    private let bytes: UnsafeRawBufferPointer
    private var index = 0

    private init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    /// The request's transfer types, or nil when JSONDecoder should read it.
    static func read(_ data: Data) -> RequestDTO? {
        data.withUnsafeBytes { raw in
            var reader = PlainRequestReader(raw)
            return try? reader.document()
        }
    }

    private mutating func document() throws(Unhandled) -> RequestDTO {
        let request = try requestObject()
        skipSpace()
        guard index == bytes.count else { throw Unhandled() }
        return request
    }

    // MARK: JSON's pieces

    private mutating func skipSpace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    /// The next byte that is not white space, not consumed.
    private mutating func peek() throws(Unhandled) -> UInt8 {
        skipSpace()
        guard index < bytes.count else { throw Unhandled() }
        return bytes[index]
    }

    private mutating func expect(_ byte: UInt8) throws(Unhandled) {
        guard try peek() == byte else { throw Unhandled() }
        index += 1
    }

    private mutating func literal(_ text: StaticString) throws(Unhandled) {
        let count = text.utf8CodeUnitCount
        guard bytes.count - index >= count else { throw Unhandled() }
        for offset in 0..<count where bytes[index + offset] != text.utf8Start[offset] { throw Unhandled() }
        index += count
    }

    /// Consumes `null` and answers true, or answers false before any other value.
    private mutating func null() throws(Unhandled) -> Bool {
        guard try peek() == UInt8(ascii: "n") else { return false }
        try literal("null")
        return true
    }

    /// A string without escapes or control characters, in valid UTF-8.
    private mutating func string() throws(Unhandled) -> String {
        try expect(UInt8(ascii: "\""))
        let start = index
        var ascii = true
        while true {
            guard index < bytes.count else { throw Unhandled() }
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") { break }
            if byte == UInt8(ascii: "\\") || byte < 0x20 { throw Unhandled() }
            ascii = ascii && byte < 0x80
            index += 1
        }
        let text = UnsafeRawBufferPointer(rebasing: bytes[start..<index])
        index += 1
        // `String(decoding:)` is specialised for a buffer of bytes; `String(validating:)` is not, and
        // was most of this reader's time in `perf`. Decoding mends bytes that are not UTF-8 with
        // U+FFFD, so text beyond ASCII is valid exactly when the decoded string has the same bytes.
        let string = String(decoding: text, as: UTF8.self)
        guard ascii || string.utf8.elementsEqual(text) else { throw Unhandled() }
        return string
    }

    private mutating func optionalString() throws(Unhandled) -> String? {
        try null() ? nil : string()
    }

    /// A whole number as JSON writes it without sign, fraction or exponent, of at most 9 digits.
    private mutating func wholeNumber() throws(Unhandled) -> Int {
        let first = try peek()
        guard first >= UInt8(ascii: "0"), first <= UInt8(ascii: "9") else { throw Unhandled() }
        var value = 0
        var digits = 0
        while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
            value = value * 10 + Int(bytes[index] - UInt8(ascii: "0"))
            digits += 1
            index += 1
            guard digits <= 9 else { throw Unhandled() }
        }
        if first == UInt8(ascii: "0"), digits > 1 { throw Unhandled() }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") || bytes[index] | 0x20 == UInt8(ascii: "e") {
            throw Unhandled()
        }
        return value
    }

    private mutating func optionalBool() throws(Unhandled) -> Bool? {
        switch try peek() {
        case UInt8(ascii: "n"): try literal("null"); return nil
        case UInt8(ascii: "t"): try literal("true"); return true
        case UInt8(ascii: "f"): try literal("false"); return false
        default: throw Unhandled()
        }
    }

    /// Opens an object: true when it has members, false when it was `{}` (consumed whole).
    private mutating func openObject() throws(Unhandled) -> Bool {
        try expect(UInt8(ascii: "{"))
        guard try peek() == UInt8(ascii: "}") else { return true }
        index += 1
        return false
    }

    /// A member's key and its colon.
    private mutating func key() throws(Unhandled) -> String {
        let key = try string()
        try expect(UInt8(ascii: ":"))
        return key
    }

    /// After a member: true when another follows, false at the object's end.
    private mutating func nextMember() throws(Unhandled) -> Bool {
        switch try peek() {
        case UInt8(ascii: ","): index += 1; return true
        case UInt8(ascii: "}"): index += 1; return false
        default: throw Unhandled()
        }
    }

    private mutating func array<Element>(_ element: (inout Self) throws(Unhandled) -> Element) throws(Unhandled) -> [Element] {
        try expect(UInt8(ascii: "["))
        var elements: [Element] = []
        if try peek() == UInt8(ascii: "]") {
            index += 1
            return elements
        }
        while true {
            elements.append(try element(&self))
            switch try peek() {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "]"): index += 1; return elements
            default: throw Unhandled()
            }
        }
    }

    private mutating func optionalArray<Element>(_ element: (inout Self) throws(Unhandled) -> Element) throws(Unhandled) -> [Element]? {
        try null() ? nil : array(element)
    }

    // MARK: The request's objects

    /// One member's value, filled once: a key seen twice in one object is left to JSONDecoder.
    private struct Slot<Value> {
        private(set) var value: Value?
        private var filled = false

        mutating func fill(_ value: Value?) throws(Unhandled) {
            guard !filled else { throw Unhandled() }
            filled = true
            self.value = value
        }
    }

    /// Reads an object's members: `member` reads the value of each key it knows and throws for any
    /// other.
    private mutating func members(_ member: (inout Self, String) throws(Unhandled) -> Void) throws(Unhandled) {
        guard try openObject() else { return }
        repeat {
            let key = try key()
            try member(&self, key)
        } while try nextMember()
    }

    /// Reads an object whose members named in `names` are strings: the first `required` must be
    /// there and not null, the rest may be absent or null. Answers their values in the order of
    /// `names`. Any other key goes to `other`, which reads its value or throws.
    private mutating func strings(
        _ names: [String], required: Int,
        other: (inout Self, String) throws(Unhandled) -> Void = { _, _ throws(Unhandled) in throw Unhandled() }
    ) throws(Unhandled) -> [String?] {
        var values = [String?](repeating: nil, count: names.count)
        var seen: UInt64 = 0
        try members { r, key throws(Unhandled) in
            guard let field = names.firstIndex(of: key) else { return try other(&r, key) }
            guard seen & (1 << field) == 0 else { throw Unhandled() }
            seen |= 1 << field
            values[field] = try field < required ? r.string() : r.optionalString()
        }
        guard seen & ((1 << required) - 1) == (1 << required) - 1 else { throw Unhandled() }
        return values
    }

    private static let requestStrings = ["program"]

    private mutating func requestObject() throws(Unhandled) -> RequestDTO {
        var year = Slot<Int>(), policy = Slot<[String: PolicyValueDTO]>(), lpr = Slot<[LPRFixingDTO]>()
        var firms = Slot<[FirmDTO]>(), loans = Slot<[LoanDTO]>(), investments = Slot<[InvestmentDTO]>()
        var guarantees = Slot<[GuaranteeDTO]>(), usccAllowList = Slot<[String]>()
        let text = try strings(Self.requestStrings, required: 1) { r, key throws(Unhandled) in
            switch key {
            case "year": try year.fill(r.wholeNumber())
            case "policy": try policy.fill(r.null() ? nil : r.policyTable())
            case "lpr": try lpr.fill(r.optionalArray { r throws(Unhandled) in try r.lprFixing() })
            case "firms": try firms.fill(r.optionalArray { r throws(Unhandled) in try r.firm() })
            case "loans": try loans.fill(r.optionalArray { r throws(Unhandled) in try r.loan() })
            case "investments": try investments.fill(r.optionalArray { r throws(Unhandled) in try r.investment() })
            case "guarantees": try guarantees.fill(r.optionalArray { r throws(Unhandled) in try r.guarantee() })
            case "usccAllowList": try usccAllowList.fill(r.optionalArray { r throws(Unhandled) in try r.string() })
            default: throw Unhandled()
            }
        }
        guard let program = text[0], let year = year.value else { throw Unhandled() }
        return RequestDTO(
            program: program, year: year, policy: policy.value, lpr: lpr.value, firms: firms.value, loans: loans.value,
            investments: investments.value, guarantees: guarantees.value, usccAllowList: usccAllowList.value)
    }

    /// `policy`: each value a string or an object of strings (`PolicyValueDTO`).
    private mutating func policyTable() throws(Unhandled) -> [String: PolicyValueDTO] {
        var table: [String: PolicyValueDTO] = [:]
        try members { r, name throws(Unhandled) in
            let value: PolicyValueDTO = try r.peek() == UInt8(ascii: "{") ? .table(r.stringTable()) : .text(r.string())
            guard table.updateValue(value, forKey: name) == nil else { throw Unhandled() }
        }
        return table
    }

    /// An object of strings, each key once.
    private mutating func stringTable() throws(Unhandled) -> [String: String] {
        var table: [String: String] = [:]
        try members { r, key throws(Unhandled) in
            guard try table.updateValue(r.string(), forKey: key) == nil else { throw Unhandled() }
        }
        return table
    }

    private static let lprStrings = ["published", "oneYear", "fiveYear"]

    private mutating func lprFixing() throws(Unhandled) -> LPRFixingDTO {
        let text = try strings(Self.lprStrings, required: 3)
        guard let published = text[0], let oneYear = text[1], let fiveYear = text[2] else { throw Unhandled() }
        return LPRFixingDTO(published: published, oneYear: oneYear, fiveYear: fiveYear)
    }

    private static let qualificationStrings = ["level", "from", "to"]

    private mutating func qualifications() throws(Unhandled) -> [QualificationDTO]? {
        try optionalArray { r throws(Unhandled) in
            let text = try r.strings(Self.qualificationStrings, required: 2)
            guard let level = text[0], let from = text[1] else { throw Unhandled() }
            return QualificationDTO(level: level, from: from, to: text[2])
        }
    }

    private static let otherSubsidyStrings = ["level", "amount"]

    private mutating func otherSubsidies() throws(Unhandled) -> [OtherSubsidyDTO]? {
        try optionalArray { r throws(Unhandled) in
            let text = try r.strings(Self.otherSubsidyStrings, required: 2)
            guard let level = text[0], let amount = text[1] else { throw Unhandled() }
            return OtherSubsidyDTO(level: level, amount: amount)
        }
    }

    private static let interestRecordStrings = ["id", "from", "to", "balance", "paid", "paidOn"]

    private mutating func interestRecord() throws(Unhandled) -> InterestRecordDTO {
        let text = try strings(Self.interestRecordStrings, required: 6)
        guard let id = text[0], let from = text[1], let to = text[2], let balance = text[3], let paid = text[4],
              let paidOn = text[5] else { throw Unhandled() }
        return InterestRecordDTO(id: id, from: from, to: to, balance: balance, paid: paid, paidOn: paidOn)
    }

    private static let recognitionStrings = ["level", "date"]

    private mutating func recognition() throws(Unhandled) -> RecognitionDTO? {
        if try null() { return nil }
        let text = try strings(Self.recognitionStrings, required: 2)
        guard let level = text[0], let date = text[1] else { throw Unhandled() }
        return RecognitionDTO(level: level, date: date)
    }

    private static let firmStrings = ["uscc", "name"]

    private mutating func firm() throws(Unhandled) -> FirmDTO {
        var qualifications = Slot<[QualificationDTO]>(), awarded = Slot<[String: String]>()
        let text = try strings(Self.firmStrings, required: 1) { r, key throws(Unhandled) in
            switch key {
            case "qualifications": try qualifications.fill(r.qualifications())
            case "awarded": try awarded.fill(r.null() ? nil : r.stringTable())
            default: throw Unhandled()
            }
        }
        guard let uscc = text[0] else { throw Unhandled() }
        return FirmDTO(uscc: uscc, name: text[1], qualifications: qualifications.value, awarded: awarded.value)
    }

    private static let loanStrings = ["id", "firm", "product", "principal", "start", "maturity", "rate", "awardedBefore"]

    private mutating func loan() throws(Unhandled) -> LoanDTO {
        var otherSubsidies = Slot<[OtherSubsidyDTO]>(), interest = Slot<[InterestRecordDTO]>()
        let text = try strings(Self.loanStrings, required: 6) { r, key throws(Unhandled) in
            switch key {
            case "otherSubsidies": try otherSubsidies.fill(r.otherSubsidies())
            case "interest": try interest.fill(r.optionalArray { r throws(Unhandled) in try r.interestRecord() })
            default: throw Unhandled()
            }
        }
        guard let id = text[0], let firm = text[1], let product = text[2], let principal = text[3],
              let start = text[4], let maturity = text[5] else { throw Unhandled() }
        return LoanDTO(
            id: id, firm: firm, product: product, principal: principal, start: start, maturity: maturity,
            rate: text[6], awardedBefore: text[7], otherSubsidies: otherSubsidies.value, interest: interest.value)
    }

    private static let investmentStrings = ["id", "investor", "investee", "kind", "amount", "date", "stage", "awardedBefore"]

    private mutating func investment() throws(Unhandled) -> InvestmentDTO {
        var qualifications = Slot<[QualificationDTO]>(), registeredInCity = Slot<Bool>()
        var recognition = Slot<RecognitionDTO>(), otherSubsidies = Slot<[OtherSubsidyDTO]>()
        let text = try strings(Self.investmentStrings, required: 6) { r, key throws(Unhandled) in
            switch key {
            case "investeeQualifications": try qualifications.fill(r.qualifications())
            case "registeredInCity": try registeredInCity.fill(r.optionalBool())
            case "recognition": try recognition.fill(r.recognition())
            case "otherSubsidies": try otherSubsidies.fill(r.otherSubsidies())
            default: throw Unhandled()
            }
        }
        guard let id = text[0], let investor = text[1], let investee = text[2], let kind = text[3],
              let amount = text[4], let date = text[5] else { throw Unhandled() }
        return InvestmentDTO(
            id: id, investor: investor, investee: investee, kind: kind, amount: amount, date: date, stage: text[6],
            investeeQualifications: qualifications.value, registeredInCity: registeredInCity.value,
            recognition: recognition.value, awardedBefore: text[7], otherSubsidies: otherSubsidies.value)
    }

    private static let guaranteeStrings = ["id", "firm", "guarantor", "principal", "from", "to", "fee", "paidOn", "loan"]

    private mutating func guarantee() throws(Unhandled) -> GuaranteeDTO {
        var otherSubsidies = Slot<[OtherSubsidyDTO]>()
        let text = try strings(Self.guaranteeStrings, required: 8) { r, key throws(Unhandled) in
            guard key == "otherSubsidies" else { throw Unhandled() }
            try otherSubsidies.fill(r.otherSubsidies())
        }
        guard let id = text[0], let firm = text[1], let guarantor = text[2], let principal = text[3],
              let from = text[4], let to = text[5], let fee = text[6], let paidOn = text[7] else { throw Unhandled() }
        return GuaranteeDTO(
            id: id, firm: firm, loan: text[8], guarantor: guarantor, principal: principal, from: from, to: to,
            fee: fee, paidOn: paidOn, otherSubsidies: otherSubsidies.value)
    }
}
