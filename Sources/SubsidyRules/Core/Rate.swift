/// A rate in percent, held exactly as an integer count of millionths of a percent
/// (`"3.45"` is 3,450,000). Rates are read from decimal strings with at most six fraction
/// digits and are never floating-point values.
public struct Rate: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The value in 10⁻⁶ percent.
    public var microPercent: Int64
    /// The text the rate was read from, normalised (no leading zeros), for explanations:
    /// `"3.10"` stays `"3.10"` so that a clerk sees the fixing as published.
    public var text: String

    public static let scale: Int64 = 1_000_000
    /// A rate of `p` percent is the fraction `microPercent / percentDenominator`.
    public static let percentDenominator: Int128 = 100 * 1_000_000
    /// No rate the rules read may exceed 100 %.
    public static let maxMicroPercent: Int64 = 100 * 1_000_000

    public init(microPercent: Int64, text: String) {
        self.microPercent = microPercent
        self.text = text
    }

    /// A rate from a whole number of percent, for defaults written in code-free data.
    public static func percent(_ whole: Int64) -> Rate {
        Rate(microPercent: whole * scale, text: String(whole))
    }

    public static func < (lhs: Rate, rhs: Rate) -> Bool { lhs.microPercent < rhs.microPercent }
    public static func == (lhs: Rate, rhs: Rate) -> Bool { lhs.microPercent == rhs.microPercent }
    public func hash(into hasher: inout Hasher) { hasher.combine(microPercent) }

    public var description: String { text + "%" }

    /// Parses `"3.45"`, `"50"`, `"0.5"`: digits, optionally `.` and one to six digits; at most
    /// 100 (%). Rejects signs, exponents, commas, `%` and blanks, naming the field.
    public static func parse(_ source: String, field: String) throws(InputError) -> Rate {
        var integerDigits = 0
        var fractionDigits = 0
        var seenPoint = false
        var value: Int64 = 0
        for byte in source.utf8 {
            if byte == UInt8(ascii: ".") {
                guard !seenPoint, integerDigits > 0 else { throw malformed(source, field: field) }
                seenPoint = true
                continue
            }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { throw malformed(source, field: field) }
            if seenPoint { fractionDigits += 1 } else { integerDigits += 1 }
            guard fractionDigits <= 6 else {
                throw InputError(field: field, message: "rate \"\(source)\" has more than six decimal places")
            }
            guard integerDigits <= 3 else {
                throw InputError(field: field, message: "rate \"\(source)\" is above 100 (rates are in percent)")
            }
            value = value * 10 + Int64(byte - UInt8(ascii: "0"))
        }
        guard integerDigits > 0, !(seenPoint && fractionDigits == 0) else { throw malformed(source, field: field) }
        for _ in fractionDigits..<6 { value *= 10 }
        guard value <= maxMicroPercent else {
            throw InputError(field: field, message: "rate \"\(source)\" is above 100 (rates are in percent)")
        }
        // Normalise the display text: drop leading zeros of the integer part ("03.10" → "3.10").
        var text = source
        while text.count > 1, text.first == "0", text.dropFirst().first != "." { text.removeFirst() }
        return Rate(microPercent: value, text: text)
    }

    private static func malformed(_ source: String, field: String) -> InputError {
        InputError(field: field, message: "\"\(source)\" is not a rate: expected a percentage such as \"3.45\" (no % sign)")
    }
}

/// Exact arithmetic on money: products are formed in `Int128` and divided once, rounding half
/// away from zero (四舍五入) to the 分.
///
/// Why `Int128` cannot overflow here: an input amount is below 10^12 分, a rate at most
/// 10^8 millionths of a percent, a period at most 10^5 days (the date range 1900–2199), and the
/// sums of a request at most 10^6 such terms. The largest numerator is therefore below
/// 10^12 × 10^8 × 10^5 × 10^6 = 10^31, far inside Int128's 1.7 × 10^38.
public enum Exact {
    /// `round(numerator / denominator)`, half away from zero. `denominator` must be positive.
    public static func roundHalfAwayFromZero(_ numerator: Int128, over denominator: Int128) -> Int128 {
        precondition(denominator > 0, "denominator must be positive")
        let quotient = numerator / denominator
        let remainder = numerator % denominator
        guard remainder != 0 else { return quotient }
        if remainder.magnitude * 2 >= denominator.magnitude {
            return numerator >= 0 ? quotient + 1 : quotient - 1
        }
        return quotient
    }

    /// `round(amount × rate)`, e.g. 30,138.89 × 50 % = 15,069.445 → 15,069.45.
    public static func apply(_ rate: Rate, to amount: Money) -> Money {
        let numerator = Int128(amount.fen) * Int128(rate.microPercent)
        return Money(fen: narrow(roundHalfAwayFromZero(numerator, over: Rate.percentDenominator)))
    }

    /// `round(amount × rate × days / basis)`: interest on `amount` for `days` days at an annual
    /// `rate` with a day basis of `basis` (360: 日利率 = 年利率 / 360).
    public static func interest(on amount: Money, rate: Rate, days: Int, basis: Int) -> Money {
        let numerator = Int128(amount.fen) * Int128(rate.microPercent) * Int128(days)
        let denominator = Rate.percentDenominator * Int128(basis)
        return Money(fen: narrow(roundHalfAwayFromZero(numerator, over: denominator)))
    }

    /// The unrounded numerator of `amount × rate × days` in units of 分 × 10⁻⁶ % · day; sums of
    /// these are rounded once by `roundInterest`.
    public static func interestNumerator(on amount: Money, rate: Rate, days: Int) -> Int128 {
        Int128(amount.fen) * Int128(rate.microPercent) * Int128(days)
    }

    /// Rounds a sum of `interestNumerator` terms once: `round(Σ / (100 × 10^6 × basis))`.
    public static func roundInterest(_ numerator: Int128, basis: Int) -> Money {
        Money(fen: narrow(roundHalfAwayFromZero(numerator, over: Rate.percentDenominator * Int128(basis))))
    }

    private static func narrow(_ value: Int128) -> Int64 {
        guard let narrowed = Int64(exactly: value) else {
            preconditionFailure("amount \(value) 分 does not fit in Int64; input limits should prevent this")
        }
        return narrowed
    }
}
