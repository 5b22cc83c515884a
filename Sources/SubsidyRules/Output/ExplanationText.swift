extension ExplanationStep {
    /// The steps as the JSON a batch line stores: an array of objects with `rule`, `clause`,
    /// `text`, then `amount` and `item` when the step has them — the bytes `JSONValue` writes for
    /// the same members, written straight into one buffer. A province zhuangda batch stores
    /// 1.6 million steps: as a `JSONValue` tree each step was five boxed values and an array of
    /// members to allocate, free and walk, most of the command's allocations.
    public static func storedJSON(_ steps: [ExplanationStep]) -> String {
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
}
