public import SubsidyRules

/// The size of a generated data set. Interest records come out at about 12 per loan (monthly
/// interest paid through 2025 and January 2026; a tenth of the loans pay quarterly).
public struct GeneratorScale: Sendable, Equatable {
    public var name: String
    public var firms: Int
    public var loans: Int

    public init(name: String, firms: Int, loans: Int) {
        precondition(firms > 0 && loans >= firms, "every firm has at least one loan")
        self.name = name
        self.firms = firms
        self.loans = loans
    }

    public static let city = GeneratorScale(name: "city", firms: 15_000, loans: 30_000)
    public static let province = GeneratorScale(name: "province", firms: 100_000, loans: 300_000)
    public static let nation = GeneratorScale(name: "nation", firms: 600_000, loans: 2_000_000)

    public static func named(_ name: String) -> GeneratorScale? {
        [city, province, nation].first { $0.name == name }
    }
}

/// SplitMix64: a small, fast generator whose output depends only on its seed — the same seed
/// gives the same data on every machine and every Swift version (the standard library's
/// generator promises neither).
public struct SplitMix64: RandomNumberGenerator, Sendable {
    var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A generator for one entity of a data set, independent of every other: firm `index` gets
    /// the same rows whichever chunk it is written in.
    static func forEntity(seed: UInt64, stream: UInt64, index: Int) -> SplitMix64 {
        var mixer = SplitMix64(seed: seed ^ (stream &* 0xD6E8_FEB8_6659_FD93))
        mixer.state &+= UInt64(index) &* 0xA076_1D64_78BD_642F
        return SplitMix64(seed: mixer.next())
    }

    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
    mutating func chance(_ percent: Int) -> Bool { below(100) < percent }
    mutating func pick<T>(_ values: [T]) -> T { values[below(values.count)] }
}

/// Rows of a generated data set, as plain values (written with COPY by `DataLoader`).
public struct GeneratedFirm: Sendable, Equatable {
    public var uscc: String
    public var name: String
    public var district: String
    public var accountNo: String
    public var accountBank: String
    public var qualification: GeneratedQualification?
}

public struct GeneratedQualification: Sendable, Equatable {
    public var level: String
    public var from: CivilDate
    public var to: CivilDate
}

/// A fund investee's recognition after the investment.
public struct GeneratedRecognition: Sendable, Equatable {
    public var level: String
    public var date: CivilDate
}

public struct GeneratedLoan: Sendable, Equatable {
    /// 0-based position in the data set; the database id is the loader's base plus this.
    public var index: Int
    public var bank: String
    public var loanNo: String
    public var firm: String
    public var program: String
    public var tier: String?
    public var principalFen: Int64
    public var start: CivilDate
    public var maturity: CivilDate
    /// Contract rate in hundredths of a percent (385 = 3.85 %).
    public var rateBasis: Int64
    public var records: [GeneratedRecord]
    /// A provincial award on the loan for 2025 (RULES §8), on about 2 % of loans.
    public var provincialFen: Int64?

    public var ratePercent: String { "\(rateBasis / 100).\(rateBasis % 100 < 10 ? "0" : "")\(rateBasis % 100)" }
}

public struct GeneratedRecord: Sendable, Equatable {
    public var from: CivilDate
    public var to: CivilDate
    public var balanceFen: Int64
    public var paidFen: Int64
    public var paidOn: CivilDate
    public var reference: String
}

public struct GeneratedInvestment: Sendable, Equatable {
    public var ref: String
    public var investor: String
    public var investee: String
    public var kind: String
    public var amountFen: Int64
    public var date: CivilDate
    public var stage: String?
    public var registeredInCity: Bool
    public var recognition: GeneratedRecognition?
}

public struct GeneratedGuarantee: Sendable, Equatable {
    public var ref: String
    public var firm: String
    public var guarantor: String
    public var principalFen: Int64
    public var from: CivilDate
    public var to: CivilDate
    public var feeFen: Int64
    public var paidOn: CivilDate
}

/// A deterministic, realistic data set: firms of a city, a province or the country with valid
/// USCCs (GB 32100-2015, and a GB 11714 organisation code inside), districts and accounts;
/// qualifications; loans at the partner banks across both programs and every 新易贷 tier;
/// interest records consistent with each loan's contract rate; equity and fund investments;
/// guarantees. Everything about firm `i` comes from its own generator, so a chunk of firms can be
/// produced alone and the whole is the same however it is cut.
public struct DataGenerator: Sendable {
    public let scale: GeneratorScale
    public let seed: UInt64

    public init(scale: GeneratorScale, seed: UInt64) {
        self.scale = scale
        self.seed = seed
    }

    public static let banks: [(code: String, name: String)] = [
        ("ICBC", "中国工商银行"), ("CCB", "中国建设银行"), ("BOC", "中国银行"), ("ABC", "中国农业银行"),
        ("BOCOM", "交通银行"), ("CMB", "招商银行"), ("BOCD", "成都银行"), ("CDRCB", "成都农商银行"),
    ]

    /// Administrative division codes (GB/T 2260) of Sichuan's cities and Chengdu's districts; a
    /// nation-scale set also uses the other provinces' capitals.
    static let chengdu: [(code: String, name: String)] = [
        ("510104", "锦江区"), ("510105", "青羊区"), ("510106", "金牛区"), ("510107", "武侯区"), ("510108", "成华区"),
        ("510112", "龙泉驿区"), ("510113", "青白江区"), ("510114", "新都区"), ("510115", "温江区"), ("510116", "双流区"),
        ("510117", "郫都区"), ("510118", "新津区"), ("510109", "高新区"), ("510110", "天府新区"), ("510185", "简阳市"),
        ("510181", "都江堰市"), ("510182", "彭州市"), ("510183", "邛崃市"), ("510184", "崇州市"), ("510121", "金堂县"),
    ]
    static let sichuan: [(code: String, name: String)] = chengdu.map { ($0.code, "成都市" + $0.name) } + [
        ("510703", "绵阳市涪城区"), ("510704", "绵阳市游仙区"), ("510603", "德阳市旌阳区"), ("510302", "自贡市自流井区"),
        ("510402", "攀枝花市东区"), ("510502", "泸州市江阳区"), ("510802", "广元市利州区"), ("510903", "遂宁市船山区"),
        ("511002", "内江市市中区"), ("511102", "乐山市市中区"), ("511302", "南充市顺庆区"), ("511402", "眉山市东坡区"),
        ("511502", "宜宾市翠屏区"), ("511602", "广安市广安区"), ("511702", "达州市通川区"), ("511802", "雅安市雨城区"),
    ]
    static let provinces: [(code: String, name: String)] = [
        ("110105", "北京市朝阳区"), ("120116", "天津市滨海新区"), ("130102", "石家庄市长安区"), ("140105", "太原市小店区"),
        ("210102", "沈阳市和平区"), ("220102", "长春市南关区"), ("230102", "哈尔滨市道里区"), ("310115", "上海市浦东新区"),
        ("320102", "南京市玄武区"), ("330106", "杭州市西湖区"), ("340104", "合肥市蜀山区"), ("350203", "厦门市思明区"),
        ("360102", "南昌市东湖区"), ("370102", "济南市历下区"), ("410105", "郑州市金水区"), ("420106", "武汉市武昌区"),
        ("430104", "长沙市岳麓区"), ("440106", "广州市天河区"), ("440305", "深圳市南山区"), ("450103", "南宁市青秀区"),
        ("500112", "重庆市渝北区"), ("520102", "贵阳市南明区"), ("530102", "昆明市五华区"), ("610113", "西安市雁塔区"),
        ("620102", "兰州市城关区"),
    ]

    var districts: [(code: String, name: String)] {
        switch scale.name {
        case "nation": Self.sichuan + Self.provinces
        case "province": Self.sichuan
        default: Self.chengdu
        }
    }

    static let nameHeads = Array("天华瑞德鑫盛恒通宏达晟科创锐思博远嘉诚信泰安隆启明星辰海川峰汇智新联众合")
    static let trades = ["精密制造", "智能装备", "生物医药", "新材料", "电子科技", "软件", "航空部件", "环保科技", "食品", "光电", "汽车零部件", "检测技术"]

    // MARK: Firms

    /// Firm `index`'s USCC: 9 (工商), 1 (企业), the district's code, a GB 11714 organisation code
    /// made unique from the index, and the GB 32100-2015 check character.
    func uscc(index: Int, district: String) -> String {
        // An affine map on 0..<10^8 with a multiplier coprime to 10 is a bijection: every index
        // gets its own eight digits.
        let body = (UInt64(index) &* 7_654_321 &+ seed % 100_000_000) % 100_000_000
        var digits = String(body)
        digits = String(repeating: "0", count: 8 - digits.count) + digits
        let weights = [3, 7, 9, 10, 5, 8, 4, 2]
        let sum = zip(digits.utf8, weights).reduce(0) { $0 + Int($1.0 - 48) * $1.1 }
        let check = (11 - sum % 11) % 11
        let organisation = digits + (check == 10 ? "X" : String(check))
        let prefix = "91" + district + organisation
        return prefix + String(USCC.expectedCheckCharacter(prefix + "0")!)
    }

    public func firm(_ index: Int) -> GeneratedFirm {
        var random = SplitMix64.forEntity(seed: seed, stream: 1, index: index)
        let district = random.pick(districts)
        let uscc = uscc(index: index, district: district.code)
        let place = district.name.count > 3 && scale.name != "city" ? String(district.name.prefix(2)) : "成都"
        let head = String((0..<2).map { _ in random.pick(Self.nameHeads) })
        let name = "\(place)\(head)\(random.pick(Self.trades))有限公司"
        let bank = random.pick(Self.banks)
        let account = "62" + String((0..<17).map { _ in Character(String(random.below(10))) })
        // Most hold a qualification valid through 2025; some lapsed in 2024, some never had one.
        var qualification: GeneratedQualification?
        if !random.chance(4) {
            let level = random.chance(5) ? "little_giant" : (random.chance(40) ? "specialized" : "innovative")
            let lapsed = random.chance(5)
            let from = CivilDate(year: lapsed ? 2021 : (random.chance(10) ? 2022 : 2023 + random.below(2)), month: 1 + random.below(12), day: 1 + random.below(28))!
            qualification = GeneratedQualification(level: level, from: from, to: from.adding(years: 3) + -1)
        }
        return GeneratedFirm(
            uscc: uscc, name: name, district: district.name, accountNo: account, accountBank: bank.name + district.name + "支行",
            qualification: qualification)
    }

    // MARK: Loans and interest

    /// The loans of firm `index`: their global positions are fixed by the scale alone.
    public func loanRange(firm index: Int) -> Range<Int> {
        let firms = scale.firms, loans = scale.loans
        return (index * loans / firms)..<((index + 1) * loans / firms)
    }

    public func loans(firm index: Int, uscc: String) -> [GeneratedLoan] {
        var random = SplitMix64.forEntity(seed: seed, stream: 2, index: index)
        return loanRange(firm: index).map { position in
            let bank = random.pick(Self.banks)
            let zhuangda = random.chance(50)
            let tiers = ["xinedai", "huiye", "peiyou", "touliandai"]
            let tier: String? = zhuangda ? nil : random.pick(tiers)
            // Principals in whole 万: 壮大贷 100万–3000万, 新易贷 30万–1000万 (a few above the
            // 5000万 credit line, which the rules exclude).
            let wan: Int64 = zhuangda ? Int64(100 + random.below(2_901)) : (random.chance(1) ? 6_000 : Int64(30 + random.below(971)))
            let principal = wan * 1_000_000
            let start = CivilDate(year: 2023, month: 7, day: 1)! + random.below(random.chance(92) ? 540 : 730)
            let maturity = start.adding(years: random.chance(85) ? 2 + random.below(2) : 6)
            let rate: Int64 = zhuangda ? 310 + Int64(random.below(151)) : 300 + Int64(random.below(151))
            let quarterly = random.chance(10)
            let amortising = random.chance(30)
            var records: [GeneratedRecord] = []
            // Interest settles on the 21st: periods [21st, next 21st) paid on the period's end,
            // from January 2025 to January 2026 (quarterly: March, June, September, December).
            var balance = principal
            let months = quarterly ? [3, 6, 9, 12] : Array(1...13)
            var previous = CivilDate(year: 2024, month: 12, day: 21)!
            for month in months {
                let end = CivilDate(year: 2025 + (month - 1) / 12, month: (month - 1) % 12 + 1, day: 21)!
                defer { previous = end }
                let from = max(previous, start)
                guard from < end, end <= maturity else { continue }
                let days = Int64(end - from)
                // round half away from zero of balance × rate × days / 360 (rate in 1/100 %).
                let numerator = balance * rate * days
                let paid = (numerator + 1_800_000) / 3_600_000
                records.append(GeneratedRecord(
                    from: from, to: end, balanceFen: balance, paidFen: paid, paidOn: end,
                    reference: "\(bank.code)\(position)M\(month)"))
                if amortising { balance -= principal / 24 }
            }
            return GeneratedLoan(
                index: position, bank: bank.code, loanNo: "L\(scale.name.prefix(1).uppercased())\(position + 1)", firm: uscc,
                program: zhuangda ? "zhuangda" : "xinyidai", tier: tier, principalFen: principal, start: start, maturity: maturity,
                rateBasis: rate, records: records, provincialFen: random.chance(2) ? Int64(1 + random.below(5)) * 1_000_000 : nil)
        }
    }

    // MARK: Investments and guarantees

    /// Firm `index` invests (as an institution) in a few others: about 2 % of firms make equity
    /// investments, 0.5 % manage guidance funds; about 5 % of firms have a guaranteed loan.
    public func investments(firm index: Int, uscc: String) -> [GeneratedInvestment] {
        var random = SplitMix64.forEntity(seed: seed, stream: 3, index: index)
        var result: [GeneratedInvestment] = []
        let equity = random.chance(2), fund = random.chance(1) && random.chance(50)
        guard equity || fund else { return [] }
        for number in 0..<(1 + random.below(4)) {
            var investee = random.below(scale.firms)
            if investee == index { investee = (investee + 1) % scale.firms }
            let target = firm(investee)
            let kind = equity ? "equity" : "fund"
            let date = CivilDate(year: 2024, month: 1, day: 1)! + random.below(700)
            let wan = Int64(200 + random.below(4_801))
            var recognition: GeneratedRecognition?
            if kind == "fund", random.chance(70) {
                let level = random.chance(20) ? "little_giant" : "specialized"
                recognition = GeneratedRecognition(level: level, date: date + 30 + random.below(500))
            }
            result.append(GeneratedInvestment(
                ref: "\(kind == "equity" ? "EQ" : "FD")\(index + 1)-\(number + 1)", investor: uscc, investee: target.uscc, kind: kind,
                amountFen: wan * 1_000_000, date: date, stage: kind == "equity" ? random.pick(["seed", "early", "growth", "late"]) : nil,
                registeredInCity: kind == "fund" ? random.chance(85) : false, recognition: recognition))
        }
        return result
    }

    public func guarantees(firm index: Int, uscc: String) -> [GeneratedGuarantee] {
        var random = SplitMix64.forEntity(seed: seed, stream: 4, index: index)
        guard random.chance(5) else { return [] }
        // The guarantors are a handful of guarantee companies among the firms (the first ten).
        let guarantorIndex = random.below(min(10, scale.firms))
        guard guarantorIndex != index else { return [] }
        let principal = Int64(100 + random.below(1_901)) * 1_000_000
        let from = CivilDate(year: 2024, month: 6, day: 1)! + random.below(500)
        let days = Int64(365)
        // Annualised fee 0.8 %–3.5 % of principal: a few above the 3 % ceiling.
        let basis = Int64(80 + random.below(271))
        let fee = (principal * basis * days / 360 + 5_000) / 10_000
        return [GeneratedGuarantee(
            ref: "GT\(index + 1)", firm: uscc, guarantor: firm(guarantorIndex).uscc, principalFen: principal, from: from,
            to: from + Int(days), feeFen: fee, paidOn: from + random.below(20))]
    }
}
