public import SubsidyRules

/// A short payment reference for 用途/附言 that survives truncation to 20 characters and
/// punctuation stripping: `SL`, the program's letter, the year's last two digits, the batch
/// (5 digits), the line (5 digits) and a Luhn check digit — 16 letters and digits. Batches or lines
/// past 99,999 take 7 and 6 digits: 19 characters, still within 20.
public enum PaymentReference {
    static let letters: [Program: Character] = [.zhuangda: "Z", .xinyidai: "X", .equity: "E", .fund: "F", .guarantee: "G"]

    public static func make(program: Program, year: Int, batch: Int64, line: Int) -> String {
        func padded(_ value: Int64, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        let wide = batch >= 100_000 || line >= 100_000
        precondition(batch < 10_000_000 && line < 1_000_000, "payment references hold 7 digits of batch and 6 of line")
        let digits = padded(Int64(year % 100), 2) + padded(batch, wide ? 7 : 5) + padded(Int64(line), wide ? 6 : 5)
        return "SL" + String(letters[program]!) + digits + String(luhn(digits))
    }

    /// The Luhn check digit of a digit string.
    public static func luhn(_ digits: String) -> Int {
        var sum = 0
        for (index, character) in digits.reversed().enumerated() {
            var value = Int(String(character))!
            if index % 2 == 0 {
                value *= 2
                if value > 9 { value -= 9 }
            }
            sum += value
        }
        return (10 - sum % 10) % 10
    }

    /// The reference-shaped tokens in a text: `SL`, a program letter, then digits, read with white
    /// space removed (banks wrap and split it). Made here and read here, so the two cannot differ.
    public static func scan(_ text: String) -> [String] {
        var text = text
        if let tokens = text.withUTF8({ scanASCII($0) }) { return tokens }
        return scanScalars(text)
    }

    /// `scan` over a text that is all ASCII, byte by byte: there upper case is `a`–`z` made `A`–`Z`
    /// and white space (Unicode's White_Space) is tab, line feed, vertical tab, form feed, carriage
    /// return and space. Nil for any other text, which `scanScalars` reads. The scalar path, with
    /// an upper-cased copy, a filtered array and a property lookup per scalar, was 10 % of a
    /// province statement import's samples in `perf`, for statements that are ASCII.
    static func scanASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> [String]? {
        var compact: [UInt8] = []
        compact.reserveCapacity(bytes.count)
        for byte in bytes {
            switch byte {
            case 0x80...: return nil
            case 0x09...0x0D, 0x20: continue
            case UInt8(ascii: "a")...UInt8(ascii: "z"): compact.append(byte - 0x20)
            default: compact.append(byte)
            }
        }
        return tokens(in: compact)
    }

    /// `scan` over Unicode scalars: the text upper-cased, its white space removed. A reference is
    /// ASCII, so a scalar beyond it stands as 0, which ends or prevents a token as it did.
    static func scanScalars(_ text: String) -> [String] {
        tokens(in: text.uppercased().unicodeScalars.compactMap { scalar in
            scalar.properties.isWhitespace ? nil : scalar.isASCII ? UInt8(scalar.value) : 0
        })
    }

    /// The tokens of upper-cased text without white space, as ASCII bytes: `SL`, a letter, digits.
    private static func tokens(in compact: [UInt8]) -> [String] {
        var tokens: [String] = []
        var index = 0
        while index + 2 < compact.count {
            guard compact[index] == UInt8(ascii: "S"), compact[index + 1] == UInt8(ascii: "L"),
                  (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(compact[index + 2]) else {
                index += 1
                continue
            }
            var end = index + 3
            while end < compact.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(compact[end]) { end += 1 }
            tokens.append(String(decoding: compact[index..<end], as: UTF8.self))
            index = end
        }
        return tokens
    }
}
