import Foundation
public import SubsidyRules

extension CivilDate {
    /// Today's date in Beijing (UTC+8, no daylight saving): the bureau's business day.
    public static func todayInBeijing() -> CivilDate {
        let seconds = Int(Date().timeIntervalSince1970) + 8 * 3600
        return CivilDate(dayNumber: seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400)
    }
}
