import Foundation

extension ExplanationStep {
    /// The steps as a reader sees them: an array of objects with `rule`, `clause`, `text`, then
    /// `amount` and `item` when the step has them — the bytes `JSONValue` writes for the same
    /// members, written straight into one buffer. Lines stored before migration 029 hold this form.
    public static func arrayJSON(_ steps: [ExplanationStep]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(2 + steps.count * 320)
        out.append(UInt8(ascii: "["))
        for (index, step) in steps.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: #"{"rule":"#.utf8)
            JSONValue.writeString(step.rule, to: &out)
            out.append(contentsOf: #","clause":"#.utf8)
            JSONValue.writeString(step.clause, to: &out)
            out.append(contentsOf: #","text":"#.utf8)
            JSONValue.writeString(step.text, to: &out)
            if let amount = step.amount {
                out.append(contentsOf: #","amount":"#.utf8)
                JSONValue.writeString(amount.plain, to: &out)
            }
            if let item = step.item {
                out.append(contentsOf: #","item":"#.utf8)
                JSONValue.writeString(item, to: &out)
            }
            out.append(UInt8(ascii: "}"))
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
    public static func storedJSON(_ steps: [ExplanationStep]) -> String {
        guard !steps.isEmpty else { return "[]" }
        var rules = Interned(), clauses = Interned(), items = Interned()
        // The steps first, then the lists they index (JSON members have no order): one buffer.
        var out: [UInt8] = []
        out.reserveCapacity(steps.count * 80 + 256)
        out.append(contentsOf: #"{"v":2,"steps":["#.utf8)
        for (index, step) in steps.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out.append(UInt8(ascii: "["))
            writeIndex(rules.index(step.rule), to: &out)
            out.append(UInt8(ascii: ","))
            writeIndex(clauses.index(step.clause), to: &out)
            out.append(UInt8(ascii: ","))
            if let item = step.item { writeIndex(items.index(item), to: &out) } else { out.append(contentsOf: "null".utf8) }
            out.append(UInt8(ascii: ","))
            JSONValue.writeString(step.text, to: &out)
            out.append(UInt8(ascii: ","))
            if let amount = step.amount { JSONValue.writeString(amount.plain, to: &out) } else { out.append(contentsOf: "null".utf8) }
            out.append(UInt8(ascii: "]"))
        }
        out.append(contentsOf: #"],"rules":"#.utf8)
        rules.write(to: &out)
        out.append(contentsOf: #","clauses":"#.utf8)
        clauses.write(to: &out)
        out.append(contentsOf: #","items":"#.utf8)
        items.write(to: &out)
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
    }

    /// A list index in decimal, without a `String` in between.
    private static func writeIndex(_ value: Int, to out: inout [UInt8]) {
        if value < 10 {
            out.append(UInt8(ascii: "0") + UInt8(value))
        } else {
            out.append(contentsOf: String(value).utf8)
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
        guard let document = try? decoder.decode(Stored.self, from: data), document.v == 2 else {
            throw InputError(field: "explanation", message: "not a stored explanation (version 2)")
        }
        func look(_ list: [String], _ index: Int, _ name: String, _ step: Int) throws(InputError) -> String {
            guard list.indices.contains(index) else {
                throw InputError(field: "explanation.steps[\(step)]", message: "\(name) index \(index) is not in the list of \(list.count)")
            }
            return list[index]
        }
        var steps: [ExplanationStep] = []
        steps.reserveCapacity(document.steps.count)
        for (number, step) in document.steps.enumerated() {
            steps.append(ExplanationStep(
                rule: try look(document.rules, step.rule, "rule", number),
                clause: try look(document.clauses, step.clause, "clause", number),
                text: step.text,
                amount: try amount(step.amount, field: "explanation.steps[\(number)].amount"),
                item: try step.item.map { index throws(InputError) in try look(document.items, index, "item", number) }))
        }
        return steps
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
        var steps: [Step]

        struct Step: Decodable {
            var rule: Int
            var clause: Int
            var item: Int?
            var text: String
            var amount: String?

            init(from decoder: any Decoder) throws {
                var container = try decoder.unkeyedContainer()
                rule = try container.decode(Int.self)
                clause = try container.decode(Int.self)
                item = try container.decodeNil() ? nil : container.decode(Int.self)
                text = try container.decode(String.self)
                amount = try container.decodeNil() ? nil : container.decode(String.self)
                guard container.isAtEnd else {
                    throw DecodingError.dataCorruptedError(in: container, debugDescription: "a step has five members")
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
