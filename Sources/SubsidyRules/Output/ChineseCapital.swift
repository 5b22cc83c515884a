/// 人民币大写: an amount in Chinese capital numerals, as a payment voucher writes it (the rules of
/// 《支付结算办法》附件: 零 once for a run of zeros, 整 after 元 or 角 when there is no 分).
///
///     15,069.45    → 壹万伍仟零陆拾玖元肆角伍分
///     100.00       → 壹佰元整
///     1,000,000.07 → 壹佰万元零柒分
public enum ChineseCapital {
    static let digits: [String] = ["零", "壹", "贰", "叁", "肆", "伍", "陆", "柒", "捌", "玖"]
    static let placeUnits: [String] = ["仟", "佰", "拾", ""]
    static let sectionUnits: [String] = ["", "万", "亿", "万亿", "亿亿"]

    public static func amount(_ money: Money) -> String {
        // The magnitude as UInt64: Int64.min has no positive Int64.
        let magnitude = money.fen.magnitude
        let sign = money.fen < 0 ? "负" : ""
        let yuan = magnitude / 100
        let jiao = Int(magnitude / 10 % 10)
        let fen = Int(magnitude % 10)
        var text = sign
        if yuan > 0 {
            text += integer(yuan) + "元"
        }
        switch (jiao, fen) {
        case (0, 0):
            text += yuan > 0 ? "整" : "零元整"
        case (_, 0):
            text += digits[jiao] + "角整"
        case (0, _):
            // 零 stands for the missing 角 only after 元 (0.07 is 柒分).
            text += (yuan > 0 ? "零" : "") + digits[fen] + "分"
        default:
            text += digits[jiao] + "角" + digits[fen] + "分"
        }
        return text
    }

    /// A whole number of 元 (> 0) in capitals, without the unit.
    static func integer(_ value: UInt64) -> String {
        var sections: [Int] = []
        var rest = value
        while rest > 0 {
            sections.append(Int(rest % 10_000))
            rest /= 10_000
        }
        var text = ""
        var zeroPending = false
        for index in stride(from: sections.count - 1, through: 0, by: -1) {
            let section = sections[index]
            if section == 0 {
                zeroPending = !text.isEmpty
                continue
            }
            // A section below 1000 after a higher one, or after an empty section, starts with 零.
            if !text.isEmpty && (zeroPending || section < 1000) {
                text += "零"
            }
            text += sectionText(section) + sectionUnits[index]
            zeroPending = false
        }
        return text
    }

    /// 1…9999 in capitals: 零 once between non-zero digits, none at the end or the start.
    static func sectionText(_ section: Int) -> String {
        let places = [section / 1000, section / 100 % 10, section / 10 % 10, section % 10]
        var text = ""
        var zero = false
        for (place, digit) in places.enumerated() {
            if digit == 0 {
                zero = !text.isEmpty
                continue
            }
            if zero { text += "零" }
            text += digits[digit] + placeUnits[place]
            zero = false
        }
        return text
    }
}
