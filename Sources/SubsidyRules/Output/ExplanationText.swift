import Foundation

extension ExplanationStep {
    /// The steps as a reader sees them: an array of objects with `rule`, `clause`, `text`, then
    /// `amount` and `item` when the step has them — the bytes `JSONValue` writes for the same
    /// members, written straight into one buffer. Lines stored before migration 029 hold this form.
    public static func arrayJSON(_ steps: [ExplanationStep]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(2 + steps.count * 320)
        out.append(UInt8(ascii: "["))
        func write(rule: String, clause: String, text: String, amount: Money?, item: String?) {
            if out.count > 1 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: #"{"rule":"#.utf8)
            JSONValue.writeString(rule, to: &out)
            out.append(contentsOf: #","clause":"#.utf8)
            JSONValue.writeString(clause, to: &out)
            out.append(contentsOf: #","text":"#.utf8)
            JSONValue.writeString(text, to: &out)
            if let amount {
                out.append(contentsOf: #","amount":"#.utf8)
                JSONValue.writeString(amount.plain, to: &out)
            }
            if let item {
                out.append(contentsOf: #","item":"#.utf8)
                JSONValue.writeString(item, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
        for step in steps {
            // An interest and its base in one step (a batch's) reads as the two steps it stands
            // for, as its stored form does.
            if let figures = step.figures, case let .lprInterestAndBase(_, _, _, _, interest, _, baseRule) = figures, step.amount == interest {
                for (rule, part) in zip([step.rule, baseRule], figures.parts) {
                    write(rule: rule, clause: step.clause, text: part.text, amount: part.amount, item: step.item)
                }
            } else {
                write(rule: step.rule, clause: step.clause, text: step.readableText, amount: step.amount, item: step.item)
            }
        }
        out.append(UInt8(ascii: "]"))
        return String(decoding: out, as: UTF8.self)
    }

    /// The steps as a batch line stores them (migration 029): the same members, with each rule,
    /// clause and item written once —
    /// `{"v":2,"steps":[[rule, clause, item|null, text, amount|null], …],"rules":[…],"clauses":[…],"items":[…]}`,
    /// the first three members of a step being indexes into the lists, numbered in order of first
    /// use. A province zhuangda batch stores 1.6 million steps, two per interest record, each
    /// repeating its rule, clause and loan: as objects they were 6 kB a line and the largest
    /// write of a batch; this form holds the same in about a third. `steps(stored:)` reads both
    /// forms, and SQL's `explanation_steps(json)` turns this one back into the array.
    ///
    /// Version 3 (migration 031), written when a step has `figures`: such a step keeps its
    /// numbers in place of its text and amount, `[rule, clause, item|null, 1, balance, rate,
    /// days, basis, interest]` (an LPR interest; the rate an index into `"rates"`, the list of
    /// the rates' texts) or `[rule, clause, item|null, 2, lprInterest, paid, base]` (a base),
    /// amounts in 分; other steps are written as in version 2.
    ///
    /// Version 4 (migration 036), written instead of 3: an LPR interest followed by its base (the
    /// same clause and item, the base taking that interest and being the lesser of it and the
    /// paid interest, as the engine always writes them) is one member,
    /// `[rule, clause, item|null, 3, balance, rate, days, basis, interest, paid, baseRule]`, read
    /// back as the two steps; the base is `min(interest, paid)`. A province zhuangda batch has
    /// 1.6 million such pairs: about a third of their bytes go.
    public static func storedJSON(_ steps: [ExplanationStep]) -> String {
        guard !steps.isEmpty else { return "[]" }
        var rules = Interned(), clauses = Interned(), items = Interned(), rates = Interned()
        // The steps first, then the lists they index (JSON members have no order): one buffer.
        var out: [UInt8] = []
        out.reserveCapacity(steps.count * 40 + 256)
        let figured = steps.contains { $0.figures != nil }
        out.append(contentsOf: (figured ? #"{"v":4,"steps":["# : #"{"v":2,"steps":["#).utf8)
        // Read in place, field by field: a step bound to a variable was a copy of the whole
        // struct (retaining each of its strings), 3.2 million of them a province 壮大贷 batch.
        var index = steps.startIndex
        while index < steps.endIndex {
            defer { index += 1 }
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out.append(UInt8(ascii: "["))
            writeNumber(Int64(rules.index(steps[index].rule)), comma: false, to: &out)
            out.append(UInt8(ascii: ","))
            writeNumber(Int64(clauses.index(steps[index].clause)), comma: false, to: &out)
            out.append(UInt8(ascii: ","))
            if let item = steps[index].item { writeNumber(Int64(items.index(item)), comma: false, to: &out) } else { out.append(contentsOf: "null".utf8) }
            out.append(UInt8(ascii: ","))
            // A step's amount is its figures' (the engine sets both from one value); were it
            // not, the step is written with its words, so that nothing written differs when read.
            if let figures = steps[index].figures, steps[index].amount == figures.amount {
                switch figures {
                case let .lprInterest(balance, rate, days, basis, interest):
                    let paired = paidOfBase(after: index, interest: interest, in: steps)
                    out.append(contentsOf: (paired == nil ? "1," : "3,").utf8)
                    writeNumber(balance.fen, comma: true, to: &out)
                    writeNumber(Int64(rates.index(rate.text)), comma: true, to: &out)
                    writeNumber(Int64(days), comma: true, to: &out)
                    writeNumber(Int64(basis), comma: true, to: &out)
                    writeNumber(interest.fen, comma: paired != nil, to: &out)
                    if let paired {
                        writeNumber(paired.fen, comma: true, to: &out)
                        writeNumber(Int64(rules.index(steps[index + 1].rule)), comma: false, to: &out)
                        index += 1
                    }
                case let .lprInterestAndBase(balance, rate, days, basis, interest, paid, baseRule):
                    // The same member as the two steps it stands for, the lists in the same order.
                    out.append(contentsOf: "3,".utf8)
                    writeNumber(balance.fen, comma: true, to: &out)
                    writeNumber(Int64(rates.index(rate.text)), comma: true, to: &out)
                    writeNumber(Int64(days), comma: true, to: &out)
                    writeNumber(Int64(basis), comma: true, to: &out)
                    writeNumber(interest.fen, comma: true, to: &out)
                    writeNumber(paid.fen, comma: true, to: &out)
                    writeNumber(Int64(rules.index(baseRule)), comma: false, to: &out)
                case let .base(lprInterest, paid, base):
                    out.append(contentsOf: "2,".utf8)
                    writeNumber(lprInterest.fen, comma: true, to: &out)
                    writeNumber(paid.fen, comma: true, to: &out)
                    writeNumber(base.fen, comma: false, to: &out)
                }
            } else {
                JSONValue.writeString(steps[index].readableText, to: &out)
                out.append(UInt8(ascii: ","))
                if let amount = steps[index].amount { JSONValue.writeString(amount.plain, to: &out) } else { out.append(contentsOf: "null".utf8) }
            }
            out.append(UInt8(ascii: "]"))
        }
        out.append(contentsOf: #"],"rules":"#.utf8)
        rules.write(to: &out)
        out.append(contentsOf: #","clauses":"#.utf8)
        clauses.write(to: &out)
        out.append(contentsOf: #","items":"#.utf8)
        items.write(to: &out)
        if figured {
            out.append(contentsOf: #","rates":"#.utf8)
            rates.write(to: &out)
        }
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
    }

    /// The paid interest of the base step after the LPR interest `interest` at `index`, when the
    /// two may be one member (version 4): the base takes that interest, is the lesser of it and the
    /// paid one, and is of the same clause and item; nil otherwise.
    private static func paidOfBase(after index: Int, interest: Money, in steps: [ExplanationStep]) -> Money? {
        let next = index + 1
        guard next < steps.endIndex, case let .base(lprInterest, paid, base)? = steps[next].figures, steps[next].amount == base,
              lprInterest == interest, base == min(interest, paid),
              steps[next].clause == steps[index].clause, steps[next].item == steps[index].item
        else { return nil }
        return paid
    }

    /// A whole number (an amount, a count, a list index) in decimal, then a comma if another
    /// follows. The digits are written from the last into a buffer on the stack and appended
    /// at once: `String(value)` for each of a province 壮大贷 batch's 11 million numbers was a
    /// third of this function's time (`perf`, issue 12). The magnitude is taken as `UInt64`,
    /// so `Int64.min` is written too.
    static func writeNumber(_ value: Int64, comma: Bool, to out: inout [UInt8]) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 21) { buffer in
            var start = buffer.endIndex
            if comma {
                start -= 1
                buffer[start] = UInt8(ascii: ",")
            }
            var rest = value.magnitude
            repeat {
                let (quotient, digit) = rest.quotientAndRemainder(dividingBy: 10)
                start -= 1
                buffer[start] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: digit)
                rest = quotient
            } while rest != 0
            if value < 0 {
                start -= 1
                buffer[start] = UInt8(ascii: "-")
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[start...]))
        }
    }

    /// The steps of a stored explanation, in either form (`storedJSON`'s or `arrayJSON`'s).
    /// A document that is neither, or an index out of its list, is an error naming what is wrong:
    /// a stored explanation is the service's own writing, so this means the row was damaged.
    public static func steps(stored text: String) throws(InputError) -> [ExplanationStep] {
        let data = Data(text.utf8)
        let decoder = JSONDecoder()
        func amount(_ text: String?, field: String) throws(InputError) -> Money? {
            guard let text else { return nil }
            return try Money.parse(text, field: field, allowNegative: true)
        }
        if isArrayForm(text) {
            guard let array = try? decoder.decode([ArrayStep].self, from: data) else {
                throw InputError(field: "explanation", message: "not an array of explanation steps")
            }
            return try array.map { step throws(InputError) in
                ExplanationStep(rule: step.rule, clause: step.clause, text: step.text,
                                amount: try amount(step.amount, field: "explanation.amount"), item: step.item)
            }
        }
        guard let document = try? decoder.decode(Stored.self, from: data), (2...4).contains(document.v) else {
            throw InputError(field: "explanation", message: "not a stored explanation (version 2, 3 or 4)")
        }
        func look(_ list: [String], _ index: Int, _ name: String, _ step: Int) throws(InputError) -> String {
            guard list.indices.contains(index) else {
                throw InputError(field: "explanation.steps[\(step)]", message: "\(name) index \(index) is not in the list of \(list.count)")
            }
            return list[index]
        }
        // The rates' texts parsed once for the document, not once per step that names one; a
        // malformed one is refused where a step uses it.
        let rates = (document.rates ?? []).map { text in Result { () throws(InputError) in try Rate.parse(text, field: "rate") } }
        var steps: [ExplanationStep] = []
        steps.reserveCapacity(document.steps.count)
        for (number, step) in document.steps.enumerated() {
            // A member is one step, or (version 4) an LPR interest and its base, of its clause and item.
            func append(rule: Int, named name: String, text: String, amount: Money?) throws(InputError) {
                steps.append(ExplanationStep(
                    rule: try look(document.rules, rule, name, number),
                    clause: try look(document.clauses, step.clause, "clause", number),
                    text: text,
                    amount: amount,
                    item: try step.item.map { index throws(InputError) in try look(document.items, index, "item", number) }))
            }
            switch step.body {
            case .words(let words, let amountText):
                try append(rule: step.rule, named: "rule", text: words, amount: try amount(amountText, field: "explanation.steps[\(number)].amount"))
            case .figures(3, let numbers) where numbers.count == 7:
                // The base is the lesser of the interest just figured and the paid one.
                let interest = try Self.figures(1, Array(numbers[0..<5]), rates: rates, step: number)
                let paid = Money(fen: numbers[5])
                let base = StepFigures.baseOf(interest: interest.amount, paid: paid)
                try append(rule: step.rule, named: "rule", text: interest.text, amount: interest.amount)
                try append(rule: Int(numbers[6]), named: "base rule", text: base.text, amount: base.amount)
            case .figures(let kind, let numbers):
                let figures = try Self.figures(kind, numbers, rates: rates, step: number)
                try append(rule: step.rule, named: "rule", text: figures.text, amount: figures.amount)
            }
        }
        return steps
    }

    /// A figured step's numbers (`storedJSON`, kinds 1 and 2) as its figures: an unknown kind, a count of
    /// numbers that does not fit it, a rate index out of the list or a negative day count is an
    /// error naming the step.
    private static func figures(
        _ kind: Int64, _ numbers: [Int64], rates: [Result<Rate, InputError>], step: Int
    ) throws(InputError) -> StepFigures {
        let field = "explanation.steps[\(step)]"
        switch (kind, numbers.count) {
        case (1, 5):
            guard let index = Int(exactly: numbers[1]), rates.indices.contains(index) else {
                throw InputError(field: field, message: "rate index \(numbers[1]) is not in the list of \(rates.count)")
            }
            guard let days = Int(exactly: numbers[2]), let basis = Int(exactly: numbers[3]), days >= 0, basis > 0 else {
                throw InputError(field: field, message: "days \(numbers[2]) over a basis of \(numbers[3]) is not a period")
            }
            let rate: Rate
            switch rates[index] {
            case .success(let parsed): rate = parsed
            case .failure(let error): throw InputError(field: field + ".rate", message: error.message)
            }
            return .lprInterest(balance: Money(fen: numbers[0]), rate: rate, days: days, basis: basis, interest: Money(fen: numbers[4]))
        case (2, 3):
            return .base(lprInterest: Money(fen: numbers[0]), paid: Money(fen: numbers[1]), base: Money(fen: numbers[2]))
        default:
            throw InputError(field: field, message: "figures of kind \(kind) with \(numbers.count) numbers are not a step")
        }
    }

    /// A stored explanation in the array form readers show (`arrayJSON`): lines stored before
    /// migration 029 come back as they are.
    public static func readableJSON(stored text: String) throws(InputError) -> String {
        isArrayForm(text) ? text : arrayJSON(try steps(stored: text))
    }

    /// Whether a stored explanation is `arrayJSON`'s form (a JSON array), not `storedJSON`'s
    /// object. Both writers start their text with the bracket; the column keeps the text as written.
    private static func isArrayForm(_ text: String) -> Bool {
        text.utf8.first == UInt8(ascii: "[")
    }

    private struct ArrayStep: Decodable {
        var rule: String
        var clause: String
        var text: String
        var amount: String?
        var item: String?
    }

    private struct Stored: Decodable {
        var v: Int
        var rules: [String]
        var clauses: [String]
        var items: [String]
        var rates: [String]?
        var steps: [Step]

        struct Step: Decodable {
            var rule: Int
            var clause: Int
            var item: Int?
            var body: Body

            /// Its text and amount (version 2's only form), or its figures (versions 3 and 4).
            enum Body {
                case words(String, String?)
                case figures(Int64, [Int64])
            }

            init(from decoder: any Decoder) throws {
                var container = try decoder.unkeyedContainer()
                rule = try container.decode(Int.self)
                clause = try container.decode(Int.self)
                item = try container.decodeNil() ? nil : container.decode(Int.self)
                switch try container.decode(TextOrKind.self) {
                case .text(let text):
                    let amount = try container.decodeNil() ? nil : container.decode(String.self)
                    body = .words(text, amount)
                case .kind(let kind):
                    var numbers: [Int64] = []
                    while !container.isAtEnd, numbers.count < 8 { numbers.append(try container.decode(Int64.self)) }
                    body = .figures(kind, numbers)
                }
                guard container.isAtEnd else {
                    throw DecodingError.dataCorruptedError(in: container, debugDescription: "a step has five members, or its figures")
                }
            }
        }

        /// A step's fourth member: its text, or the kind of its figures.
        enum TextOrKind: Decodable {
            case text(String)
            case kind(Int64)

            init(from decoder: any Decoder) throws {
                let container = try decoder.singleValueContainer()
                if let kind = try? container.decode(Int64.self) {
                    self = .kind(kind)
                } else {
                    self = .text(try container.decode(String.self))
                }
            }
        }
    }

    /// Strings numbered in order of first use. A line's lists are short (a few rules, one or
    /// two clauses, its loans), so they are searched in order — the same literal compares by
    /// its storage at once — and hashed only past 16 entries: a zhuangda line alternates two
    /// rules, and hashing them was a hash per step.
    private struct Interned {
        var list: [String] = []
        var table: [String: Int] = [:]

        mutating func index(_ text: String) -> Int {
            if list.count <= 16 {
                if let found = list.firstIndex(of: text) { return found }
            } else if let found = table[text] {
                return found
            }
            list.append(text)
            if list.count == 17 {
                for (index, entry) in list.enumerated() { table[entry] = index }
            } else if list.count > 17 {
                table[text] = list.count - 1
            }
            return list.count - 1
        }

        func write(to out: inout [UInt8]) {
            out.append(UInt8(ascii: "["))
            for (index, text) in list.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                JSONValue.writeString(text, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        }
    }
}
