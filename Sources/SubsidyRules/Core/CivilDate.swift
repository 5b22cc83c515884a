/// A calendar date without time or zone, as the policy speaks of dates (`2025-03-21`).
/// Held as a day number so that day counts are subtraction: an interest period `[from, to)`
/// counts `to − from` days (算头不算尾).
public struct CivilDate: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Days since 1970-01-01.
    public let dayNumber: Int

    public init(dayNumber: Int) { self.dayNumber = dayNumber }

    /// A date from its parts; `nil` when the parts name no real day (2025-02-29).
    public init?(year: Int, month: Int, day: Int) {
        guard (1...12).contains(month), day >= 1, day <= CivilDate.daysIn(month: month, year: year) else { return nil }
        self.dayNumber = CivilDate.daysFromCivil(year: year, month: month, day: day)
    }

    public static func < (lhs: CivilDate, rhs: CivilDate) -> Bool { lhs.dayNumber < rhs.dayNumber }

    public static func - (lhs: CivilDate, rhs: CivilDate) -> Int { lhs.dayNumber - rhs.dayNumber }
    public static func + (lhs: CivilDate, days: Int) -> CivilDate { CivilDate(dayNumber: lhs.dayNumber + days) }

    public var parts: (year: Int, month: Int, day: Int) { CivilDate.civilFromDays(dayNumber) }
    public var year: Int { parts.year }
    public var month: Int { parts.month }
    public var day: Int { parts.day }

    /// `YYYY-MM-DD`.
    public var description: String {
        let (y, m, d) = parts
        return "\(y)-\(m < 10 ? "0" : "")\(m)-\(d < 10 ? "0" : "")\(d)"
    }

    /// `YYYY-MM`, the month a fixing or a coverage gap is named by.
    public var monthText: String {
        let (y, m, _) = parts
        return "\(y)-\(m < 10 ? "0" : "")\(m)"
    }

    /// The same day `years` later; 29 February becomes 28 February in a common year.
    public func adding(years: Int) -> CivilDate {
        let (y, m, d) = parts
        let day = min(d, CivilDate.daysIn(month: m, year: y + years))
        return CivilDate(year: y + years, month: m, day: day)!
    }

    /// The anniversary `years` later, for terms: the anniversary of 29 February in a common year
    /// is 1 March, so that a term of n years from 2024-02-29 ends on 2027-02-28 (the day before).
    public func anniversary(years: Int) -> CivilDate {
        let (y, m, d) = parts
        if m == 2, d == 29, !CivilDate.isLeap(y + years) { return CivilDate(year: y + years, month: 3, day: 1)! }
        return adding(years: years)
    }

    /// The given day of the month `months` after this date's month.
    public func dayOfMonth(_ day: Int, monthsLater months: Int) -> CivilDate {
        let (y, m, _) = parts
        let index = y * 12 + (m - 1) + months
        return CivilDate(year: index / 12, month: index % 12 + 1, day: day)!
    }

    /// Parses exactly `YYYY-MM-DD` with a real day between 1900 and 2199.
    public static func parse(_ text: String, field: String) throws(InputError) -> CivilDate {
        let bytes = Array(text.utf8)
        func digits(_ range: Range<Int>) -> Int? {
            var value = 0
            for index in range {
                let byte = bytes[index]
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            return value
        }
        guard bytes.count == 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
            let year = digits(0..<4), let month = digits(5..<7), let day = digits(8..<10)
        else {
            throw InputError(field: field, message: "\"\(text)\" is not a date: expected YYYY-MM-DD")
        }
        guard (1900...2199).contains(year), let date = CivilDate(year: year, month: month, day: day) else {
            throw InputError(field: field, message: "\"\(text)\" is not a real calendar day")
        }
        return date
    }

    public static func isLeap(_ year: Int) -> Bool { (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 }

    public static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    // Howard Hinnant's days_from_civil / civil_from_days: exact for the proleptic Gregorian
    // calendar, no Foundation Calendar and no time zones involved.
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civilFromDays(_ days: Int) -> (Int, Int, Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}
