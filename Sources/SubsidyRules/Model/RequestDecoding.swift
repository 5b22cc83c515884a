public import Foundation

// The calculator's JSON request (CALCULATOR.md), first decoded into plain transfer types whose
// amounts, rates and dates are still strings, then validated field by field into the model.
// Decoding errors and validation errors both name the field as a path into the request.
// `PlainRequestReader` reads the common form of the transfer types; JSONDecoder reads the rest and
// gives every decoding error.

struct RequestDTO: Decodable, Equatable {
    var program: String
    var year: Int
    var policy: [String: PolicyValueDTO]?
    var lpr: [LPRFixingDTO]?
    var firms: [FirmDTO]?
    var loans: [LoanDTO]?
    var investments: [InvestmentDTO]?
    var guarantees: [GuaranteeDTO]?
    var usccAllowList: [String]?
}

enum PolicyValueDTO: Decodable, Equatable {
    case text(String)
    case table([String: String])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            self = .text(text)
        } else {
            self = .table(try container.decode([String: String].self))
        }
    }
}

struct LPRFixingDTO: Decodable, Equatable {
    var published: String
    var oneYear: String
    var fiveYear: String
}

struct QualificationDTO: Decodable, Equatable {
    var level: String
    var from: String
    var to: String?
}

struct FirmDTO: Decodable, Equatable {
    var uscc: String
    var name: String?
    var qualifications: [QualificationDTO]?
    var awarded: [String: String]?
}

struct OtherSubsidyDTO: Decodable, Equatable {
    var level: String
    var amount: String
}

struct InterestRecordDTO: Decodable, Equatable {
    var id: String
    var from: String
    var to: String
    var balance: String
    var paid: String
    var paidOn: String
}

struct LoanDTO: Decodable, Equatable {
    var id: String
    var firm: String
    var product: String
    var principal: String
    var start: String
    var maturity: String
    var rate: String?
    var awardedBefore: String?
    var otherSubsidies: [OtherSubsidyDTO]?
    var interest: [InterestRecordDTO]?
}

struct RecognitionDTO: Decodable, Equatable {
    var level: String
    var date: String
}

struct InvestmentDTO: Decodable, Equatable {
    var id: String
    var investor: String
    var investee: String
    var kind: String
    var amount: String
    var date: String
    var stage: String?
    var investeeQualifications: [QualificationDTO]?
    var registeredInCity: Bool?
    var recognition: RecognitionDTO?
    var awardedBefore: String?
    var otherSubsidies: [OtherSubsidyDTO]?
}

struct GuaranteeDTO: Decodable, Equatable {
    var id: String
    var firm: String
    var loan: String?
    var guarantor: String
    var principal: String
    var from: String
    var to: String
    var fee: String
    var paidOn: String
    var otherSubsidies: [OtherSubsidyDTO]?
}

extension CalculationRequest {
    /// Decodes and validates a request. Throws `InputError` naming the first wrong field; nothing
    /// is computed from a request that does not validate whole.
    public static func decode(
        _ data: Data,
        policies: PolicyDocument = .builtIn,
        lpr defaultLPR: LPRTable = .builtIn,
        usccAllowList: Set<String> = []
    ) throws(InputError) -> CalculationRequest {
        let dto: RequestDTO
        do {
            dto = try PlainRequestReader.read(data) ?? JSONDecoder().decode(RequestDTO.self, from: data)
        } catch let error as DecodingError {
            throw InputError(decoding: error)
        } catch {
            throw InputError(field: "", message: "the request is not valid JSON")
        }
        return try RequestValidator(policies: policies, defaultLPR: defaultLPR, allowList: usccAllowList).validate(dto)
    }
}

extension InputError {
    /// Renders a `DecodingError` as the field path and a sentence a person can act on.
    public init(decoding error: DecodingError) {
        func path(_ codingPath: [any CodingKey], _ last: (any CodingKey)? = nil) -> String {
            var text = ""
            for key in codingPath + (last.map { [$0] } ?? []) {
                if let index = key.intValue {
                    text += "[\(index)]"
                } else {
                    text += text.isEmpty ? key.stringValue : "." + key.stringValue
                }
            }
            return text
        }
        switch error {
        case .keyNotFound(let key, let context):
            self.init(field: path(context.codingPath, key), message: "is required")
        case .valueNotFound(_, let context):
            self.init(field: path(context.codingPath), message: "must not be null")
        case .typeMismatch(let type, let context):
            let expected: String
            switch type {
            case is String.Type: expected = "a string (amounts, rates and dates are strings, e.g. \"1234.56\")"
            case is Int.Type: expected = "a whole number"
            case is Bool.Type: expected = "true or false"
            case is [Any].Type: expected = "an array"
            default: expected = "an object"
            }
            self.init(field: path(context.codingPath), message: "expected \(expected)")
        case .dataCorrupted(let context):
            let field = path(context.codingPath)
            self.init(field: field, message: field.isEmpty ? "the request is not valid JSON" : "is not valid: \(context.debugDescription)")
        @unknown default:
            self.init(field: "", message: "the request could not be read")
        }
    }
}

/// Turns transfer types into the model, checking each field.
struct RequestValidator {
    var policies: PolicyDocument
    var defaultLPR: LPRTable
    var allowList: Set<String>

    func validate(_ dto: RequestDTO) throws(InputError) -> CalculationRequest {
        guard let program = Program(rawValue: dto.program) else {
            throw InputError(field: "program", message: "unknown program \"\(dto.program)\": expected zhuangda, xinyidai, equity, fund or guarantee")
        }
        guard (2000...2199).contains(dto.year) else {
            throw InputError(field: "year", message: "\(dto.year) is not a plausible subsidy year")
        }
        var allowList = self.allowList
        for (index, code) in (dto.usccAllowList ?? []).enumerated() {
            guard code.utf8.count == 18 else {
                throw InputError(field: "usccAllowList[\(index)]", message: "\"\(code)\" must have 18 characters")
            }
            allowList.insert(code)
        }
        let version = try policies.version(forYear: dto.year)
        var overrides: [String: PolicyOverride] = [:]
        for (name, value) in dto.policy ?? [:] {
            switch value {
            case .text(let text): overrides[name] = .text(text)
            case .table(let table): overrides[name] = .table(table)
            }
        }
        let policy = try ResolvedPolicy.resolved(version: version, program: program, overrides: overrides)
        let lpr = try dto.lpr.map { fixings throws(InputError) in try validateLPR(fixings) } ?? defaultLPR

        var firms: [String: Firm] = [:]
        for (index, firm) in (dto.firms ?? []).enumerated() {
            let field = "firms[\(index)]"
            let parsed = try validateFirm(firm, field: field, policy: policy, allowList: allowList)
            guard firms[parsed.uscc] == nil else {
                throw InputError(field: field + ".uscc", message: "firm \(parsed.uscc) is listed twice")
            }
            firms[parsed.uscc] = parsed
        }

        var loanIDs: Set<String> = []
        var recordIDs: Set<String> = []
        var recordCount = 0
        var loans: [Loan] = []
        loans.reserveCapacity(dto.loans?.count ?? 0)
        for (index, loan) in (dto.loans ?? []).enumerated() {
            let field = "loans[\(index)]"
            recordCount += loan.interest?.count ?? 0
            guard recordCount <= RequestLimits.maxInterestRecords else {
                throw InputError(field: field + ".interest", message: "more than \(RequestLimits.maxInterestRecords) interest records in one request")
            }
            let parsed = try validateLoan(loan, field: field, allowList: allowList, recordIDs: &recordIDs)
            guard loanIDs.insert(parsed.id).inserted else {
                throw InputError(field: field + ".id", message: "loan id \"\(parsed.id)\" is used twice")
            }
            guard firms[parsed.firm] != nil else {
                throw InputError(field: field + ".firm", message: "firm \(parsed.firm) is not listed in firms[]")
            }
            loans.append(parsed)
        }

        var investmentIDs: Set<String> = []
        var investments: [Investment] = []
        for (index, investment) in (dto.investments ?? []).enumerated() {
            let field = "investments[\(index)]"
            let parsed = try validateInvestment(investment, field: field, policy: policy, allowList: allowList)
            guard investmentIDs.insert(parsed.id).inserted else {
                throw InputError(field: field + ".id", message: "investment id \"\(parsed.id)\" is used twice")
            }
            investments.append(parsed)
        }

        var guaranteeIDs: Set<String> = []
        var guarantees: [Guarantee] = []
        for (index, guarantee) in (dto.guarantees ?? []).enumerated() {
            let field = "guarantees[\(index)]"
            let parsed = try validateGuarantee(guarantee, field: field, allowList: allowList)
            guard guaranteeIDs.insert(parsed.id).inserted else {
                throw InputError(field: field + ".id", message: "guarantee id \"\(parsed.id)\" is used twice")
            }
            guard firms[parsed.firm] != nil else {
                throw InputError(field: field + ".firm", message: "firm \(parsed.firm) is not listed in firms[]")
            }
            guarantees.append(parsed)
        }

        guard loans.count + investments.count + guarantees.count <= RequestLimits.maxItems else {
            throw InputError(field: "", message: "more than \(RequestLimits.maxItems) items in one request")
        }
        return CalculationRequest(
            program: program, year: dto.year, policy: policy, lpr: lpr, firms: firms,
            loans: loans, investments: investments, guarantees: guarantees)
    }

    func validateLPR(_ fixings: [LPRFixingDTO]) throws(InputError) -> LPRTable {
        guard !fixings.isEmpty else { throw InputError(field: "lpr", message: "must hold at least one fixing") }
        var parsed: [LPRFixing] = []
        var seen: Set<CivilDate> = []
        for (index, fixing) in fixings.enumerated() {
            let field = "lpr[\(index)]"
            let published = try CivilDate.parse(fixing.published, field: field + ".published")
            guard seen.insert(published).inserted else {
                throw InputError(field: field + ".published", message: "two fixings published on \(published)")
            }
            parsed.append(LPRFixing(
                published: published,
                oneYear: try Rate.parse(fixing.oneYear, field: field + ".oneYear"),
                fiveYearPlus: try Rate.parse(fixing.fiveYear, field: field + ".fiveYear")))
        }
        return LPRTable(fixings: parsed)
    }

    func validateID(_ id: String, field: String) throws(InputError) -> String {
        guard !id.isEmpty, id.utf8.count <= RequestLimits.maxIDLength,
            !id.contains(where: { $0.isNewline || $0 == "\t" })
        else {
            throw InputError(field: field, message: "an id must be 1 to \(RequestLimits.maxIDLength) bytes without line breaks or tabs")
        }
        return id
    }

    func validateQualifications(_ list: [QualificationDTO], field: String, policy: ResolvedPolicy) throws(InputError) -> [Qualification] {
        var result: [Qualification] = []
        for (index, qualification) in list.enumerated() {
            let path = "\(field)[\(index)]"
            let level = try QualificationLevel.parse(qualification.level, field: path + ".level")
            let from = try CivilDate.parse(qualification.from, field: path + ".from")
            // The default term is three years from recognition: 2024-03-01 → 2027-02-28.
            let to = try qualification.to.map { text throws(InputError) in try CivilDate.parse(text, field: path + ".to") }
                ?? from.anniversary(years: policy.qualificationTermYears) + -1
            guard from <= to else {
                throw InputError(field: path + ".to", message: "\(to) is before from \(from)")
            }
            result.append(Qualification(level: level, from: from, to: to))
        }
        return result
    }

    func validateFirm(_ firm: FirmDTO, field: String, policy: ResolvedPolicy, allowList: Set<String>) throws(InputError) -> Firm {
        try USCC.validate(firm.uscc, field: field + ".uscc", allowList: allowList)
        var awarded: [Program: Money] = [:]
        for (name, amount) in firm.awarded ?? [:] {
            guard let program = Program(rawValue: name) else {
                throw InputError(field: "\(field).awarded.\(name)", message: "unknown program \"\(name)\"")
            }
            awarded[program] = try Money.parse(amount, field: "\(field).awarded.\(name)")
        }
        return Firm(
            uscc: firm.uscc, name: firm.name ?? "",
            qualifications: try validateQualifications(firm.qualifications ?? [], field: field + ".qualifications", policy: policy),
            awarded: awarded)
    }

    func validateOthers(_ list: [OtherSubsidyDTO]?, field: String) throws(InputError) -> [OtherSubsidy] {
        var result: [OtherSubsidy] = []
        for (index, other) in (list ?? []).enumerated() {
            let path = "\(field).otherSubsidies[\(index)]"
            guard let level = SubsidyLevel(rawValue: other.level) else {
                throw InputError(field: path + ".level", message: "unknown level \"\(other.level)\": expected city, provincial or national")
            }
            result.append(OtherSubsidy(level: level, amount: try Money.parse(other.amount, field: path + ".amount")))
        }
        return result
    }

    func validatePrincipal(_ text: String, field: String) throws(InputError) -> Money {
        let principal = try Money.parse(text, field: field)
        guard principal.fen > 0 else { throw InputError(field: field, message: "principal must be greater than 0.00") }
        return principal
    }

    func validateLoan(_ loan: LoanDTO, field: String, allowList: Set<String>, recordIDs: inout Set<String>) throws(InputError) -> Loan {
        let id = try validateID(loan.id, field: field + ".id")
        try USCC.validate(loan.firm, field: field + ".firm", allowList: allowList)
        let product: LoanProduct
        if loan.product == "zhuangda" {
            product = .zhuangda
        } else if loan.product.hasPrefix("xinyidai:"), let tier = XinyidaiTier(rawValue: String(loan.product.dropFirst(9))) {
            product = .xinyidai(tier)
        } else {
            throw InputError(field: field + ".product", message: "unknown product \"\(loan.product)\": expected zhuangda or xinyidai:<xinedai|huiye|peiyou|touliandai>")
        }
        let principal = try validatePrincipal(loan.principal, field: field + ".principal")
        let start = try CivilDate.parse(loan.start, field: field + ".start")
        let maturity = try CivilDate.parse(loan.maturity, field: field + ".maturity")
        guard start < maturity else {
            throw InputError(field: field + ".maturity", message: "maturity \(maturity) must be after start \(start)")
        }
        var records: [InterestRecord] = []
        records.reserveCapacity(loan.interest?.count ?? 0)
        for (index, record) in (loan.interest ?? []).enumerated() {
            let path = "\(field).interest[\(index)]"
            let recordID = try validateID(record.id, field: path + ".id")
            guard recordIDs.insert(recordID).inserted else {
                throw InputError(field: path + ".id", message: "interest record id \"\(recordID)\" is used twice")
            }
            records.append(InterestRecord(
                id: recordID,
                from: try CivilDate.parse(record.from, field: path + ".from"),
                to: try CivilDate.parse(record.to, field: path + ".to"),
                balance: try Money.parse(record.balance, field: path + ".balance"),
                paid: try Money.parse(record.paid, field: path + ".paid", allowNegative: true),
                paidOn: try CivilDate.parse(record.paidOn, field: path + ".paidOn")))
        }
        return Loan(
            id: id, firm: loan.firm, product: product, principal: principal, start: start, maturity: maturity,
            contractRate: try loan.rate.map { text throws(InputError) in try Rate.parse(text, field: field + ".rate") },
            awardedBefore: try Money.parse(loan.awardedBefore ?? "0.00", field: field + ".awardedBefore"),
            otherSubsidies: try validateOthers(loan.otherSubsidies, field: field),
            interest: records, field: field)
    }

    func validateInvestment(_ investment: InvestmentDTO, field: String, policy: ResolvedPolicy, allowList: Set<String>) throws(InputError) -> Investment {
        let id = try validateID(investment.id, field: field + ".id")
        try USCC.validate(investment.investor, field: field + ".investor", allowList: allowList)
        try USCC.validate(investment.investee, field: field + ".investee", allowList: allowList)
        guard let kind = InvestmentKind(rawValue: investment.kind) else {
            throw InputError(field: field + ".kind", message: "unknown kind \"\(investment.kind)\": expected equity or fund")
        }
        var stage: InvestmentStage?
        if let text = investment.stage {
            guard let parsed = InvestmentStage(rawValue: text) else {
                throw InputError(field: field + ".stage", message: "unknown stage \"\(text)\": expected seed, early, growth or late")
            }
            stage = parsed
        }
        var recognition: Recognition?
        if let dto = investment.recognition {
            recognition = Recognition(
                level: try QualificationLevel.parse(dto.level, field: field + ".recognition.level"),
                date: try CivilDate.parse(dto.date, field: field + ".recognition.date"))
        }
        let amount = try Money.parse(investment.amount, field: field + ".amount")
        return Investment(
            id: id, investor: investment.investor, investee: investment.investee, kind: kind,
            amount: amount,
            date: try CivilDate.parse(investment.date, field: field + ".date"),
            stage: stage,
            investeeQualifications: try validateQualifications(
                investment.investeeQualifications ?? [], field: field + ".investeeQualifications", policy: policy),
            registeredInCity: investment.registeredInCity ?? false,
            recognition: recognition,
            awardedBefore: try Money.parse(investment.awardedBefore ?? "0.00", field: field + ".awardedBefore"),
            otherSubsidies: try validateOthers(investment.otherSubsidies, field: field))
    }

    func validateGuarantee(_ guarantee: GuaranteeDTO, field: String, allowList: Set<String>) throws(InputError) -> Guarantee {
        let id = try validateID(guarantee.id, field: field + ".id")
        try USCC.validate(guarantee.firm, field: field + ".firm", allowList: allowList)
        try USCC.validate(guarantee.guarantor, field: field + ".guarantor", allowList: allowList)
        return Guarantee(
            id: id, firm: guarantee.firm, loan: guarantee.loan, guarantor: guarantee.guarantor,
            principal: try validatePrincipal(guarantee.principal, field: field + ".principal"),
            from: try CivilDate.parse(guarantee.from, field: field + ".from"),
            to: try CivilDate.parse(guarantee.to, field: field + ".to"),
            fee: try Money.parse(guarantee.fee, field: field + ".fee"),
            paidOn: try CivilDate.parse(guarantee.paidOn, field: field + ".paidOn"),
            otherSubsidies: try validateOthers(guarantee.otherSubsidies, field: field))
    }
}
