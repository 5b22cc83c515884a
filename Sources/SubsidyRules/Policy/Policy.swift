import Foundation
import Synchronization

/// One parameter of a policy version: its value as text, the clause it comes from, and whether
/// the value is this project's assumption rather than the policy's own words.
public struct PolicyParameter: Codable, Hashable, Sendable {
    public var key: String
    public var value: String
    public var clause: String
    public var assumption: Bool

    public init(key: String, value: String, clause: String, assumption: Bool) {
        self.key = key
        self.value = value
        self.clause = clause
        self.assumption = assumption
    }
}

/// A dated set of parameters: in force for subsidy years from `validFrom` on, until a later
/// version takes over.
public struct PolicyVersion: Codable, Hashable, Sendable {
    public var id: String
    public var title: String
    public var validFrom: String
    public var parameters: [PolicyParameter]

    public init(id: String, title: String, validFrom: String, parameters: [PolicyParameter]) {
        self.id = id
        self.title = title
        self.validFrom = validFrom
        self.parameters = parameters
    }
}

public struct PolicyDocument: Codable, Sendable {
    public var versions: [PolicyVersion]

    public init(versions: [PolicyVersion]) { self.versions = versions }

    public static let builtIn: PolicyDocument = {
        do {
            return try JSONDecoder().decode(PolicyDocument.self, from: Data(builtInPolicyJSON.utf8))
        } catch {
            preconditionFailure("the built-in policy document does not parse: \(error)")
        }
    }()

    /// The version in force for a subsidy year: the latest whose `validFrom` is on or before the
    /// year's last day.
    public func version(forYear year: Int) throws(InputError) -> PolicyVersion {
        let yearEnd = "\(year)-12-31"
        guard let version = versions.filter({ $0.validFrom <= yearEnd }).max(by: { $0.validFrom < $1.validFrom }) else {
            throw InputError(field: "year", message: "no policy version is in force for \(year)")
        }
        return version
    }
}

public enum LPRReference: String, Sendable {
    /// The fixing in force on the loan's start date ("同期" read as the LPR at issuance).
    case loanStart
    /// Each day of the interest period uses the fixing in force that day.
    case daily
}

public enum GuaranteePayee: String, Sendable {
    case firm
    case guarantor
}

/// The parameters one computation uses, typed and checked: a policy version with the request's
/// overrides applied. Every value keeps the clause it comes from, for the explanation.
public struct ResolvedPolicy: Sendable {
    public let versionID: String
    public var values: [String: String]
    public var clauses: [String: String]
    /// Keys whose value came from the request rather than the policy version.
    public var overridden: Set<String> = []

    public var dayBasis = 360
    public var effectiveFrom: CivilDate
    public var effectiveTo: CivilDate
    public var qualificationTermYears = 3

    public var zhuangdaRatio: Rate
    public var zhuangdaFirmCap: Money
    public var lprReference: LPRReference

    public var tiers: [String: Rate]
    public var creditLine: Money
    public var xinyidaiFirmCap: Money

    public var equityRate: Rate
    public var equityPairCap: Money
    public var equityInvestorCap: Money

    public var fundRate: Rate
    public var fundPairCap: Money
    public var fundRecognitionYears: Int

    public var guaranteePayee: GuaranteePayee
    public var guaranteeMaxFeeRate: Rate
    public var guaranteeFeeCeilingRate: Rate
    public var guaranteeOffsetRatio: Rate
    public var guaranteeFirmCap: Money

    public func clause(_ key: String) -> String { clauses[key] ?? "" }

    /// Builds the parameters from `version`, applying `overrides` (RULES.md names, such as
    /// `ratio` or `firmCap`, meant for `program`). Illegal values are refused with the field
    /// `policy.<name>`: a ratio above 50 %, a tier above 2 %, a negative cap, an unknown name.
    public init(version: PolicyVersion, program: Program, overrides: [String: PolicyOverride]) throws(InputError) {
        versionID = version.id
        var values: [String: String] = [:]
        var clauses: [String: String] = [:]
        for parameter in version.parameters {
            values[parameter.key] = parameter.value
            clauses[parameter.key] = parameter.clause
        }
        var overridden: Set<String> = []
        for (name, value) in overrides.sorted(by: { $0.key < $1.key }) {
            let field = "policy.\(name)"
            switch value {
            case .text(let text):
                guard let key = ResolvedPolicy.resolveKey(name, program: program, values: values), !key.hasSuffix("Max") else {
                    throw InputError(field: field, message: "unknown policy parameter \"\(name)\" for program \(program.rawValue)")
                }
                values[key] = text
                overridden.insert(key)
            case .table(let table):
                guard name == "tiers" else {
                    throw InputError(field: field, message: "only \"tiers\" (the 新易贷 tier rates) takes an object of values")
                }
                for (tier, text) in table {
                    guard XinyidaiTier(rawValue: tier) != nil else {
                        throw InputError(field: "\(field).\(tier)", message: "unknown tier \"\(tier)\": expected xinedai, huiye, peiyou or touliandai")
                    }
                    values["xinyidai.tiers.\(tier)"] = text
                    overridden.insert("xinyidai.tiers.\(tier)")
                }
            }
        }
        self.values = values
        self.clauses = clauses
        self.overridden = overridden

        // Reads a value, naming the request field when the value came from the request.
        func field(_ key: String) -> String {
            guard overridden.contains(key) else { return "policy version \(version.id): \(key)" }
            // `xinyidai.tiers.huiye` → `policy.tiers.huiye`; `zhuangda.ratio` → `policy.ratio`.
            return "policy." + key.split(separator: ".").dropFirst().joined(separator: ".")
        }
        func text(_ key: String) throws(InputError) -> String {
            guard let value = values[key] else { throw InputError(field: field(key), message: "missing policy parameter \(key)") }
            return value
        }
        func rate(_ key: String, atMost maxKey: String? = nil) throws(InputError) -> Rate {
            let value = try Rate.parse(try text(key), field: field(key))
            if let maxKey {
                let max = try Rate.parse(try text(maxKey), field: field(maxKey))
                guard value <= max else {
                    throw InputError(field: field(key), message: "\(value) is above the policy's ceiling of \(max) (\(clauses[maxKey] ?? maxKey))")
                }
            }
            return value
        }
        func money(_ key: String, atMost maxKey: String? = nil) throws(InputError) -> Money {
            let value = try Money.parse(try text(key), field: field(key))
            if let maxKey {
                let max = try Money.parse(try text(maxKey), field: field(maxKey))
                guard value <= max else {
                    throw InputError(field: field(key), message: "\(value.plain) is above the policy's ceiling of \(max.plain) (\(clauses[maxKey] ?? maxKey))")
                }
            }
            return value
        }
        func date(_ key: String) throws(InputError) -> CivilDate { try CivilDate.parse(try text(key), field: field(key)) }
        func integer(_ key: String, in range: ClosedRange<Int>, atMost maxKey: String? = nil) throws(InputError) -> Int {
            let raw = try text(key)
            guard let value = Int(raw), range.contains(value) else {
                throw InputError(field: field(key), message: "\"\(raw)\" must be a whole number in \(range.lowerBound)…\(range.upperBound)")
            }
            if let maxKey {
                let max = try integer(maxKey, in: range)
                guard value <= max else {
                    throw InputError(field: field(key), message: "\(value) is above the policy's ceiling of \(max) (\(clauses[maxKey] ?? maxKey))")
                }
            }
            return value
        }

        dayBasis = try integer("common.dayBasis", in: 360...366)
        guard dayBasis == 360 || dayBasis == 365 else {
            throw InputError(field: field("common.dayBasis"), message: "day basis must be 360 or 365")
        }
        effectiveFrom = try date("common.effectiveFrom")
        effectiveTo = try date("common.effectiveTo")
        guard effectiveFrom <= effectiveTo else {
            throw InputError(field: field("common.effectiveTo"), message: "effectiveTo \(effectiveTo) is before effectiveFrom \(effectiveFrom)")
        }
        qualificationTermYears = try integer("common.qualificationTermYears", in: 1...10)

        zhuangdaRatio = try rate("zhuangda.ratio", atMost: "zhuangda.ratioMax")
        zhuangdaFirmCap = try money("zhuangda.firmCap", atMost: "zhuangda.firmCapMax")
        let reference = try text("zhuangda.lprReference")
        guard let lprReference = LPRReference(rawValue: reference) else {
            throw InputError(field: field("zhuangda.lprReference"), message: "\"\(reference)\" must be loanStart or daily")
        }
        self.lprReference = lprReference

        var tiers: [String: Rate] = [:]
        for tier in XinyidaiTier.allCases {
            tiers[tier.rawValue] = try rate("xinyidai.tiers.\(tier.rawValue)", atMost: "xinyidai.tierMax")
        }
        self.tiers = tiers
        creditLine = try money("xinyidai.creditLine", atMost: "xinyidai.creditLineMax")
        xinyidaiFirmCap = try money("xinyidai.firmCap", atMost: "xinyidai.firmCapMax")

        equityRate = try rate("equity.rate", atMost: "equity.rateMax")
        equityPairCap = try money("equity.pairCap", atMost: "equity.pairCapMax")
        equityInvestorCap = try money("equity.investorCap", atMost: "equity.investorCapMax")

        fundRate = try rate("fund.rate", atMost: "fund.rateMax")
        fundPairCap = try money("fund.pairCap", atMost: "fund.pairCapMax")
        fundRecognitionYears = try integer("fund.recognitionYears", in: 1...10, atMost: "fund.recognitionYearsMax")

        let payee = try text("guarantee.payee")
        guard let guaranteePayee = GuaranteePayee(rawValue: payee) else {
            throw InputError(field: field("guarantee.payee"), message: "\"\(payee)\" must be firm or guarantor")
        }
        self.guaranteePayee = guaranteePayee
        guaranteeMaxFeeRate = try rate("guarantee.maxFeeRate")
        guaranteeFeeCeilingRate = try rate("guarantee.feeCeilingRate")
        guaranteeOffsetRatio = try rate("guarantee.offsetRatio")
        guaranteeFirmCap = try money("guarantee.firmCap")
    }

    /// The same as `init(version:program:overrides:)`, remembered: every calculator request
    /// resolves its policy, and building it afresh (≈ 35 values parsed, two dictionaries) was
    /// 12 % of the server's CPU under load (`perf`, BENCHMARKS.md). A hit needs the same
    /// version — compared whole, so a changed version with the same id is resolved anew —, the
    /// same program and the same overrides. Refusals are not remembered; at most
    /// `resolvedCacheLimit` entries are kept (the cache is emptied when full), so requests with
    /// ever-new overrides cannot grow it.
    public static func resolved(version: PolicyVersion, program: Program, overrides: [String: PolicyOverride]) throws(InputError) -> ResolvedPolicy {
        let key = ResolvedKey(version: version, program: program, overrides: overrides)
        if let hit = resolvedCache.withLock({ $0[key] }) { return hit }
        let policy = try ResolvedPolicy(version: version, program: program, overrides: overrides)
        resolvedCache.withLock { cache in
            if cache.count >= resolvedCacheLimit { cache.removeAll(keepingCapacity: true) }
            cache[key] = policy
        }
        return policy
    }

    static let resolvedCacheLimit = 256
    private static let resolvedCache = Mutex<[ResolvedKey: ResolvedPolicy]>([:])

    /// Hashes the version by its id only (hashing every parameter would cost much of what the
    /// cache saves); equality compares the whole version, which is quick for the same stored
    /// array.
    struct ResolvedKey: Hashable, Sendable {
        let version: PolicyVersion
        let program: Program
        let overrides: [String: PolicyOverride]

        func hash(into hasher: inout Hasher) {
            hasher.combine(version.id)
            hasher.combine(program)
            hasher.combine(overrides)
        }
    }

    /// The parameter key a request's override name refers to: `<program>.<name>` first, then
    /// `common.<name>`.
    static func resolveKey(_ name: String, program: Program, values: [String: String]) -> String? {
        let name = aliases[program]?[name] ?? name
        // This program's parameter, a common one, or — so that one policy block can serve several
        // programs' requests — another program's (unused by this computation but still checked).
        // A name no program knows is refused: a typo must never compute silently with a default.
        let others = Program.allCases.filter { $0 != program }.map { "\($0.rawValue).\(name)" }
        for candidate in ["\(program.rawValue).\(name)", "common.\(name)"] + others where values[candidate] != nil {
            return candidate
        }
        return nil
    }

    /// Other plain names for a program's parameters: RULES.md names only some of them, so a
    /// request may call the equity investor cap `firmCap` or the guarantee share `ratio`.
    static let aliases: [Program: [String: String]] = [
        .equity: ["firmCap": "investorCap", "ratio": "rate"],
        .fund: ["ratio": "rate", "cap": "pairCap"],
        .guarantee: ["ratio": "offsetRatio", "ceiling": "feeCeilingRate", "feeCeiling": "feeCeilingRate", "maxRate": "maxFeeRate"],
    ]
}

/// A request's override of one parameter: a value, or (for `tiers`) a table of values.
public enum PolicyOverride: Sendable, Hashable {
    case text(String)
    case table([String: String])
}
