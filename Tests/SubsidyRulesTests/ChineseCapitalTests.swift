import SubsidyRules
import Testing

/// 人民币大写 as a voucher writes it: the three examples, then the zero rules one by one.
@Suite struct ChineseCapitalTests {
    @Test(arguments: [
        // The examples.
        (Int64(1_506_945), "壹万伍仟零陆拾玖元肆角伍分"),
        (10_000, "壹佰元整"),
        (100_000_007, "壹佰万元零柒分"),
        // 零 once for a run of zeros inside a section and across sections.
        (100_100, "壹仟零壹元整"),
        (1_000_500, "壹万零伍元整"),
        (10_001_000, "壹拾万零壹拾元整"),
        (1_000_000_500, "壹仟万零伍元整"),
        (10_000_000_000, "壹亿元整"),
        (10_000_050_000, "壹亿零伍佰元整"),
        (12_345_678_901, "壹亿贰仟叁佰肆拾伍万陆仟柒佰捌拾玖元零壹分"),
        // 角 and 分 alone; 整 after 角 when there is no 分.
        (50, "伍角整"),
        (7, "柒分"),
        (45, "肆角伍分"),
        (1_550, "壹拾伍元伍角整"),
        (0, "零元整"),
        (-10_000, "负壹佰元整"),
    ])
    func capitals(fen: Int64, expected: String) {
        #expect(ChineseCapital.amount(Money(fen: fen)) == expected)
    }

    @Test func extremes() {
        // Int64.min has no positive Int64: the magnitude is taken as UInt64 and nothing traps.
        // 92,233,720,368,547,758.08: sections 9 | 2233 | 7203 | 6854 | 7758 (亿亿, 万亿, 亿, 万, —).
        #expect(ChineseCapital.amount(Money(fen: .min)) == "负玖亿亿贰仟贰佰叁拾叁万亿柒仟贰佰零叁亿陆仟捌佰伍拾肆万柒仟柒佰伍拾捌元零捌分")
        #expect(ChineseCapital.amount(Money(fen: .max)) == "玖亿亿贰仟贰佰叁拾叁万亿柒仟贰佰零叁亿陆仟捌佰伍拾肆万柒仟柒佰伍拾捌元零柒分")
    }
}
