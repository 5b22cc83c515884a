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

/// Why the plain reader stopped; the caller falls back to JSONDecoder.
struct Unhandled: Error {}

struct PlainRequestReader {
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
        while true {
            guard index < bytes.count else { throw Unhandled() }
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") { break }
            if byte == UInt8(ascii: "\\") || byte < 0x20 { throw Unhandled() }
            index += 1
        }
        let text = UnsafeRawBufferPointer(rebasing: bytes[start..<index])
        index += 1
        guard let string = String(validating: text, as: UTF8.self) else { throw Unhandled() }
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
        if index < bytes.count, [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains(bytes[index]) {
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

    private mutating func requestObject() throws(Unhandled) -> RequestDTO {
        var program = Slot<String>(), year = Slot<Int>(), policy = Slot<[String: PolicyValueDTO]>()
        var lpr = Slot<[LPRFixingDTO]>(), firms = Slot<[FirmDTO]>(), loans = Slot<[LoanDTO]>()
        var investments = Slot<[InvestmentDTO]>(), guarantees = Slot<[GuaranteeDTO]>(), usccAllowList = Slot<[String]>()
        try members { r, key throws(Unhandled) in
            switch key {
            case "program": try program.fill(r.string())
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
        guard let program = program.value, let year = year.value else { throw Unhandled() }
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

    /// An object whose members are all strings, by name: the values in the order of `names`, nil
    /// for a member absent, or null where `nullable` allows it. Any other key is left to JSONDecoder.
    private mutating func strings(_ names: [StaticString], nullable: Set<Int> = []) throws(Unhandled) -> [String?] {
        var values = [Slot<String>](repeating: Slot(), count: names.count)
        try members { r, key throws(Unhandled) in
            guard let field = names.firstIndex(where: { key.utf8.elementsEqual(UnsafeBufferPointer(start: $0.utf8Start, count: $0.utf8CodeUnitCount)) }) else {
                throw Unhandled()
            }
            try values[field].fill(nullable.contains(field) ? r.optionalString() : r.string())
        }
        return values.map(\.value)
    }

    private mutating func lprFixing() throws(Unhandled) -> LPRFixingDTO {
        let values = try strings(["published", "oneYear", "fiveYear"])
        guard let published = values[0], let oneYear = values[1], let fiveYear = values[2] else { throw Unhandled() }
        return LPRFixingDTO(published: published, oneYear: oneYear, fiveYear: fiveYear)
    }

    private mutating func qualifications() throws(Unhandled) -> [QualificationDTO]? {
        try optionalArray { r throws(Unhandled) in
            let values = try r.strings(["level", "from", "to"], nullable: [2])
            guard let level = values[0], let from = values[1] else { throw Unhandled() }
            return QualificationDTO(level: level, from: from, to: values[2])
        }
    }

    private mutating func otherSubsidies() throws(Unhandled) -> [OtherSubsidyDTO]? {
        try optionalArray { r throws(Unhandled) in
            let values = try r.strings(["level", "amount"])
            guard let level = values[0], let amount = values[1] else { throw Unhandled() }
            return OtherSubsidyDTO(level: level, amount: amount)
        }
    }

    private mutating func interestRecord() throws(Unhandled) -> InterestRecordDTO {
        let values = try strings(["id", "from", "to", "balance", "paid", "paidOn"])
        guard let id = values[0], let from = values[1], let to = values[2], let balance = values[3],
              let paid = values[4], let paidOn = values[5] else { throw Unhandled() }
        return InterestRecordDTO(id: id, from: from, to: to, balance: balance, paid: paid, paidOn: paidOn)
    }

    private mutating func recognition() throws(Unhandled) -> RecognitionDTO? {
        if try null() { return nil }
        let values = try strings(["level", "date"])
        guard let level = values[0], let date = values[1] else { throw Unhandled() }
        return RecognitionDTO(level: level, date: date)
    }

    private mutating func firm() throws(Unhandled) -> FirmDTO {
        var uscc = Slot<String>(), name = Slot<String>(), qualifications = Slot<[QualificationDTO]>()
        var awarded = Slot<[String: String]>()
        try members { r, key throws(Unhandled) in
            switch key {
            case "uscc": try uscc.fill(r.string())
            case "name": try name.fill(r.optionalString())
            case "qualifications": try qualifications.fill(r.qualifications())
            case "awarded": try awarded.fill(r.null() ? nil : r.stringTable())
            default: throw Unhandled()
            }
        }
        guard let uscc = uscc.value else { throw Unhandled() }
        return FirmDTO(uscc: uscc, name: name.value, qualifications: qualifications.value, awarded: awarded.value)
    }

    private mutating func loan() throws(Unhandled) -> LoanDTO {
        var text: [String: Slot<String>] = [:]
        var otherSubsidies = Slot<[OtherSubsidyDTO]>(), interest = Slot<[InterestRecordDTO]>()
        try members { r, key throws(Unhandled) in
            switch key {
            case "id", "firm", "product", "principal", "start", "maturity": try text[key, default: Slot()].fill(r.string())
            case "rate", "awardedBefore": try text[key, default: Slot()].fill(r.optionalString())
            case "otherSubsidies": try otherSubsidies.fill(r.otherSubsidies())
            case "interest": try interest.fill(r.optionalArray { r throws(Unhandled) in try r.interestRecord() })
            default: throw Unhandled()
            }
        }
        guard let id = text["id"]?.value, let firm = text["firm"]?.value, let product = text["product"]?.value,
              let principal = text["principal"]?.value, let start = text["start"]?.value,
              let maturity = text["maturity"]?.value else { throw Unhandled() }
        return LoanDTO(
            id: id, firm: firm, product: product, principal: principal, start: start, maturity: maturity,
            rate: text["rate"]?.value, awardedBefore: text["awardedBefore"]?.value,
            otherSubsidies: otherSubsidies.value, interest: interest.value)
    }

    private mutating func investment() throws(Unhandled) -> InvestmentDTO {
        var text: [String: Slot<String>] = [:]
        var qualifications = Slot<[QualificationDTO]>(), registeredInCity = Slot<Bool>()
        var recognition = Slot<RecognitionDTO>(), otherSubsidies = Slot<[OtherSubsidyDTO]>()
        try members { r, key throws(Unhandled) in
            switch key {
            case "id", "investor", "investee", "kind", "amount", "date": try text[key, default: Slot()].fill(r.string())
            case "stage", "awardedBefore": try text[key, default: Slot()].fill(r.optionalString())
            case "investeeQualifications": try qualifications.fill(r.qualifications())
            case "registeredInCity": try registeredInCity.fill(r.optionalBool())
            case "recognition": try recognition.fill(r.recognition())
            case "otherSubsidies": try otherSubsidies.fill(r.otherSubsidies())
            default: throw Unhandled()
            }
        }
        guard let id = text["id"]?.value, let investor = text["investor"]?.value, let investee = text["investee"]?.value,
              let kind = text["kind"]?.value, let amount = text["amount"]?.value, let date = text["date"]?.value
        else { throw Unhandled() }
        return InvestmentDTO(
            id: id, investor: investor, investee: investee, kind: kind, amount: amount, date: date,
            stage: text["stage"]?.value, investeeQualifications: qualifications.value,
            registeredInCity: registeredInCity.value, recognition: recognition.value,
            awardedBefore: text["awardedBefore"]?.value, otherSubsidies: otherSubsidies.value)
    }

    private mutating func guarantee() throws(Unhandled) -> GuaranteeDTO {
        var text: [String: Slot<String>] = [:]
        var otherSubsidies = Slot<[OtherSubsidyDTO]>()
        try members { r, key throws(Unhandled) in
            switch key {
            case "id", "firm", "guarantor", "principal", "from", "to", "fee", "paidOn": try text[key, default: Slot()].fill(r.string())
            case "loan": try text[key, default: Slot()].fill(r.optionalString())
            case "otherSubsidies": try otherSubsidies.fill(r.otherSubsidies())
            default: throw Unhandled()
            }
        }
        guard let id = text["id"]?.value, let firm = text["firm"]?.value, let guarantor = text["guarantor"]?.value,
              let principal = text["principal"]?.value, let from = text["from"]?.value, let to = text["to"]?.value,
              let fee = text["fee"]?.value, let paidOn = text["paidOn"]?.value else { throw Unhandled() }
        return GuaranteeDTO(
            id: id, firm: firm, loan: text["loan"]?.value, guarantor: guarantor, principal: principal, from: from,
            to: to, fee: fee, paidOn: paidOn, otherSubsidies: otherSubsidies.value)
    }
}
