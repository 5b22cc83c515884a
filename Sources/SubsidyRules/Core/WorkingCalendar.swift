/// Working days by the Chinese calendar: Monday to Friday, except public holidays (法定节假日),
/// plus the weekend days worked in exchange (调休). The exceptions are data the bureau keeps
/// (`calendar_days`), published each year by the State Council.
public struct WorkingCalendar: Sendable {
    public var holidays: Set<CivilDate>
    public var workingWeekends: Set<CivilDate>

    public init(holidays: Set<CivilDate>, workingWeekends: Set<CivilDate>) {
        self.holidays = holidays
        self.workingWeekends = workingWeekends
    }

    public func isWorkingDay(_ day: CivilDate) -> Bool {
        if holidays.contains(day) { return false }
        if workingWeekends.contains(day) { return true }
        // 1970-01-01 was a Thursday: day numbers ≡ 2 and 3 (mod 7) are Saturday and Sunday.
        let weekday = ((day.dayNumber % 7) + 7) % 7
        return weekday != 2 && weekday != 3
    }

    /// The last day of a period of `count` working days starting on the first working day after
    /// `day`: 公示 submitted on Friday 2025-09-26 runs 09-28 (调休), 09-29, 09-30, 10-09, 10-10.
    public func lastOfWorkingDays(_ count: Int, after day: CivilDate) -> CivilDate {
        precondition(count > 0)
        var cursor = day
        var seen = 0
        while seen < count {
            cursor = cursor + 1
            if isWorkingDay(cursor) { seen += 1 }
        }
        return cursor
    }
}
