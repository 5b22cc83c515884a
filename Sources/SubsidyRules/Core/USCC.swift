/// The 18-character 统一社会信用代码 (unified social credit code) that identifies a firm,
/// validated by its GB 32100-2015 check character.
public enum USCC {
    /// The code alphabet; a character's value is its index (0–30). I, O, S, V and Z are unused.
    static let alphabet = Array("0123456789ABCDEFGHJKLMNPQRTUWXY".utf8)
    static let values: [UInt8: Int] = Dictionary(uniqueKeysWithValues: alphabet.enumerated().map { ($1, $0) })
    /// Weights 3^(i−1) mod 31 for positions i = 1…17.
    static let weights: [Int] = (0..<17).reduce(into: [Int]()) { weights, index in
        weights.append(index == 0 ? 1 : weights[index - 1] * 3 % 31)
    }

    /// The check character that positions 1–17 of `code` call for, or `nil` when one of them is
    /// not in the alphabet.
    public static func expectedCheckCharacter(_ code: String) -> Character? {
        let bytes = Array(code.utf8)
        guard bytes.count >= 17 else { return nil }
        var sum = 0
        for index in 0..<17 {
            guard let value = values[bytes[index]] else { return nil }
            sum += value * weights[index]
        }
        let check = (31 - sum % 31) % 31
        return Character(Unicode.Scalar(alphabet[check]))
    }

    public static func isValid(_ code: String) -> Bool {
        let bytes = Array(code.utf8)
        guard bytes.count == 18, values[bytes[17]] != nil,
            let expected = expectedCheckCharacter(code)
        else { return false }
        return Character(Unicode.Scalar(bytes[17])) == expected
    }

    /// Checks `code`, naming the field and the reason; codes in `allowList` (legacy codes an
    /// administrator accepted explicitly) pass unchecked.
    public static func validate(_ code: String, field: String, allowList: Set<String>) throws(InputError) {
        if allowList.contains(code) || isValid(code) { return }
        let bytes = Array(code.utf8)
        guard bytes.count == 18 else {
            throw InputError(field: field, message: "\"\(code)\" is not a USCC: expected 18 characters, got \(code.count)")
        }
        if let bad = bytes.first(where: { values[$0] == nil }) {
            let character = Character(Unicode.Scalar(bad))
            let hint = character.isLowercase ? " (use capital letters)" : ""
            throw InputError(field: field, message: "\"\(code)\" is not a USCC: character \"\(character)\" is not allowed\(hint)")
        }
        let expected = expectedCheckCharacter(code).map(String.init) ?? "?"
        throw InputError(field: field, message: "\"\(code)\" fails the GB 32100-2015 check: the last character should be \"\(expected)\"")
    }
}
