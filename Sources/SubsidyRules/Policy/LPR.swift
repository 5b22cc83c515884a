/// One LPR fixing: in force from its publication date until the next fixing.
public struct LPRFixing: Hashable, Sendable {
    public var published: CivilDate
    public var oneYear: Rate
    public var fiveYearPlus: Rate

    public init(published: CivilDate, oneYear: Rate, fiveYearPlus: Rate) {
        self.published = published
        self.oneYear = oneYear
        self.fiveYearPlus = fiveYearPlus
    }

    public func rate(for tenor: LPRTenor) -> Rate { tenor == .oneYear ? oneYear : fiveYearPlus }
}

/// Which LPR a loan reads: 1-year when its term is at most 5 years, else 5-year-plus.
public enum LPRTenor: String, Sendable {
    case oneYear = "1Y"
    case fiveYearPlus = "5Y+"

    public static func forLoan(start: CivilDate, maturity: CivilDate) -> LPRTenor {
        maturity <= start.adding(years: 5) ? .oneYear : .fiveYearPlus
    }
}

/// A day the LPR table cannot answer for. The computation fails; it never guesses.
public struct LPRCoverageError: Error, Hashable, Sendable {
    public var day: CivilDate
    /// The month whose fixing is missing (`YYYY-MM`), or `nil` for a day before the first fixing.
    public var missingMonth: String?
    public var firstFixing: CivilDate

    public var message: String {
        if let missingMonth {
            return "no LPR fixing loaded for \(missingMonth): \(day) is not covered (add the \(missingMonth) fixing)"
        }
        return "no LPR before the first fixing on \(firstFixing): \(day) is not covered"
    }
}

/// The fixings in publication order, and the coverage rule of RULES.md §2: a day on or after
/// the 20th of the month after the newest fixing is not covered, and neither is a day before
/// the first fixing.
public struct LPRTable: Sendable {
    public let fixings: [LPRFixing]
    /// The first day not covered (exclusive end of coverage).
    public let coverageEnd: CivilDate

    public init(fixings: [LPRFixing]) {
        precondition(!fixings.isEmpty, "an LPR table needs at least one fixing")
        self.fixings = fixings.sorted { $0.published < $1.published }
        self.coverageEnd = self.fixings.last!.published.dayOfMonth(20, monthsLater: 1)
    }

    /// The table built from `shared/data/lpr.csv`.
    public static let builtIn: LPRTable = {
        do {
            return try LPRTable.parseCSV(builtInLPRCSV)
        } catch {
            preconditionFailure("the built-in LPR table does not parse: \(error)")
        }
    }()

    /// Reads the `month,published,lpr_1y_pct,lpr_5y_plus_pct,src` layout of `lpr.csv`.
    public static func parseCSV(_ text: String) throws(InputError) -> LPRTable {
        var fixings: [LPRFixing] = []
        for (index, line) in text.split(whereSeparator: \.isNewline).enumerated() where index > 0 {
            let cells = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            let field = "lpr.csv line \(index + 1)"
            guard cells.count >= 4 else { throw InputError(field: field, message: "expected month,published,1y,5y+") }
            fixings.append(LPRFixing(
                published: try CivilDate.parse(cells[1], field: field + " published"),
                oneYear: try Rate.parse(cells[2], field: field + " lpr_1y_pct"),
                fiveYearPlus: try Rate.parse(cells[3], field: field + " lpr_5y_plus_pct")))
        }
        guard !fixings.isEmpty else { throw InputError(field: "lpr.csv", message: "no fixings") }
        return LPRTable(fixings: fixings)
    }

    public func checkCovered(_ day: CivilDate) throws(LPRCoverageError) {
        let first = fixings[0].published
        if day < first { throw LPRCoverageError(day: day, missingMonth: nil, firstFixing: first) }
        if day >= coverageEnd {
            // The first month not covered (RULES §10): the one after the newest fixing, whose
            // fixing would begin coverage on its 20th — never a later month, whatever `day` is.
            let missing = coverageEnd
            throw LPRCoverageError(day: day, missingMonth: missing.monthText, firstFixing: first)
        }
    }

    /// The fixing in force on `day`.
    public func fixing(on day: CivilDate) throws(LPRCoverageError) -> LPRFixing {
        try checkCovered(day)
        // Binary search for the last fixing published on or before `day`.
        var low = 0
        var high = fixings.count - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if fixings[middle].published <= day { low = middle } else { high = middle - 1 }
        }
        return fixings[low]
    }

    /// The period `[from, to)` cut at each fixing that takes effect inside it: each piece with
    /// the fixing in force and its day count. Used by the `daily` LPR reference.
    public func segments(from: CivilDate, to: CivilDate) throws(LPRCoverageError) -> [(fixing: LPRFixing, from: CivilDate, days: Int)] {
        precondition(from < to)
        try checkCovered(to + -1)
        var pieces: [(fixing: LPRFixing, from: CivilDate, days: Int)] = []
        var cursor = from
        var current = try fixing(on: from)
        var nextIndex = fixings.firstIndex(where: { $0.published > from }) ?? fixings.count
        while cursor < to {
            let nextStart = nextIndex < fixings.count ? min(fixings[nextIndex].published, to) : to
            pieces.append((current, cursor, nextStart - cursor))
            cursor = nextStart
            if nextIndex < fixings.count, cursor < to {
                current = fixings[nextIndex]
                nextIndex += 1
            }
        }
        return pieces
    }
}
