/// An amount of CNY held as whole 分 (fen). Never a floating-point value: every amount the
/// service reads is parsed from a decimal string, and every amount it writes is formatted from
/// the integer here.
public struct Money: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var fen: Int64

    public init(fen: Int64) { self.fen = fen }

    public static let zero = Money(fen: 0)

    /// The largest amount accepted from input: 9,999,999,999.99 (12 digits of 分). With at most
    /// `RequestLimits.maxInterestRecords` records a request's sums stay below 10^18 分, inside
    /// `Int64` (9.2 × 10^18), so no sum of inputs can overflow.
    public static let maxInputFen: Int64 = 999_999_999_999

    public static func < (lhs: Money, rhs: Money) -> Bool { lhs.fen < rhs.fen }
    public static func + (lhs: Money, rhs: Money) -> Money { Money(fen: lhs.fen + rhs.fen) }
    public static func - (lhs: Money, rhs: Money) -> Money { Money(fen: lhs.fen - rhs.fen) }
    public static func += (lhs: inout Money, rhs: Money) { lhs.fen += rhs.fen }
    public static func -= (lhs: inout Money, rhs: Money) { lhs.fen -= rhs.fen }

    /// `max(0, self)`.
    public var clampedAtZero: Money { fen < 0 ? .zero : self }

    /// Parses an amount strictly: optional `-` (only when `allowNegative`), one or more ASCII
    /// digits, then optionally `.` and one or two digits. Rejects `"1,234"`, `"1e3"`, `"12.345"`,
    /// `"12abc"`, `" 12"`, `""`, `"+1"`, `".5"` and `"5."`, naming the field.
    public static func parse(_ text: String, field: String, allowNegative: Bool = false) throws(InputError) -> Money {
        var bytes = Substring(text).utf8[...]
        var negative = false
        if bytes.first == UInt8(ascii: "-") {
            guard allowNegative else {
                throw InputError(field: field, message: "amount \"\(text)\" must not be negative")
            }
            negative = true
            bytes = bytes.dropFirst()
        }
        var integerDigits = 0
        var fractionDigits = 0
        var seenPoint = false
        var value: Int64 = 0
        for byte in bytes {
            if byte == UInt8(ascii: ".") {
                guard !seenPoint, integerDigits > 0 else { throw malformedAmount(text, field: field) }
                seenPoint = true
                continue
            }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else {
                throw malformedAmount(text, field: field)
            }
            if seenPoint { fractionDigits += 1 } else { integerDigits += 1 }
            guard fractionDigits <= 2, integerDigits <= 10 else {
                if fractionDigits > 2 {
                    throw InputError(field: field, message: "amount \"\(text)\" has more than two decimal places (分 is the smallest unit)")
                }
                throw InputError(field: field, message: "amount \"\(text)\" is too large (at most 9999999999.99)")
            }
            value = value * 10 + Int64(byte - UInt8(ascii: "0"))
        }
        guard integerDigits > 0, !(seenPoint && fractionDigits == 0) else {
            throw malformedAmount(text, field: field)
        }
        for _ in fractionDigits..<2 { value *= 10 }
        return Money(fen: negative ? -value : value)
    }

    private static func malformedAmount(_ text: String, field: String) -> InputError {
        InputError(field: field, message: "\"\(text)\" is not an amount: expected digits with at most two decimals, such as \"1234.56\"")
    }

    /// `1234.56`, `-0.50`: the contract's format, exactly two fraction digits, no grouping.
    public var plain: String { format(grouped: false) }

    /// `1,234.56`: the format a clerk checks with a calculator.
    public var grouped: String { format(grouped: true) }

    public var description: String { plain }

    /// Formats from the integer, byte by byte, into a buffer on the stack: this runs for every
    /// explanation step (a province batch formats millions of amounts), and a string of at most
    /// 15 bytes — every amount below 1,000,000,000.00 — is then stored inline, so formatting
    /// allocates nothing. (It filled a heap array and then a heap string: 6 % of a batch's CPU.)
    private func format(grouped: Bool) -> String {
        var magnitude = fen.magnitude
        // Up to 20 digits, 6 separators, a sign and a point: 28 bytes, written from the end.
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { buffer in
            var index = 32
            func put(_ byte: UInt8) {
                index -= 1
                buffer[index] = byte
            }
            put(UInt8(ascii: "0") + UInt8(magnitude % 10)); magnitude /= 10
            put(UInt8(ascii: "0") + UInt8(magnitude % 10)); magnitude /= 10
            put(UInt8(ascii: "."))
            var digits = 0
            repeat {
                if grouped, digits > 0, digits % 3 == 0 { put(UInt8(ascii: ",")) }
                put(UInt8(ascii: "0") + UInt8(magnitude % 10))
                magnitude /= 10
                digits += 1
            } while magnitude > 0
            if fen < 0 { put(UInt8(ascii: "-")) }
            return String(decoding: UnsafeBufferPointer(rebasing: buffer[index...]), as: UTF8.self)
        }
    }
}

extension Sequence where Element == Money {
    public func sum() -> Money { reduce(.zero, +) }
}
