import Foundation
import Logging
import PostgresNIO
import SubsidyReconciliation
import SubsidyRules
import SubsidyStore

/// A 认定名单 (qualification list) as published: per row a USCC and/or a firm name and its 地区.
/// Read from `.xlsx` or CSV (UTF-8 or GB18030), checked whole — every bad row is listed with its
/// row number and column — and matched to registered firms: by USCC, or by exact name and 地区.
/// Nothing is stored until every row is matched or a clerk has resolved it.
enum QualificationList {
    struct Row: Sendable, Codable, Equatable {
        var row: Int
        var uscc: String
        var name: String
        var district: String
    }

    struct Problem: Sendable, Equatable {
        var row: Int
        var column: String
        var message: String
    }

    static let maxBytes = 8 << 20
    static let maxRows = 50_000

    static let usccHeadings = ["统一社会信用代码", "社会信用代码", "信用代码", "uscc", "credit code"]
    static let nameHeadings = ["企业名称", "单位名称", "名称", "firm", "name", "company"]
    static let districtHeadings = ["地区", "区（市）县", "区(市)县", "区县", "所属地区", "district", "region"]

    /// Rows of the file, or the problems that refuse it (none is stored either way).
    static func read(_ file: UploadedFile) -> (rows: [Row], problems: [Problem]) {
        let table: [(row: Int, cells: [String])]
        do {
            table = try cells(file)
        } catch {
            return ([], [Problem(row: 0, column: "", message: "\(error)")])
        }
        guard let header = table.first else { return ([], [Problem(row: 0, column: "", message: "the file has no rows")]) }
        func column(_ names: [String]) -> Int? {
            header.cells.firstIndex { cell in
                let text = cell.trimmingCharacters(in: .whitespaces).lowercased()
                return names.contains { text == $0.lowercased() || text.hasPrefix($0.lowercased()) }
            }
        }
        let usccColumn = column(usccHeadings), nameColumn = column(nameHeadings), districtColumn = column(districtHeadings)
        guard usccColumn != nil || nameColumn != nil else {
            return ([], [Problem(row: header.row, column: "", message: "no column 统一社会信用代码 (USCC) or 企业名称 (firm name) in the heading row")])
        }
        var rows: [Row] = []
        var problems: [Problem] = []
        guard table.count - 1 <= maxRows else { return ([], [Problem(row: 0, column: "", message: "more than \(maxRows) rows")]) }
        for line in table.dropFirst() {
            func cell(_ index: Int?) -> String {
                guard let index, index < line.cells.count else { return "" }
                return line.cells[index].trimmingCharacters(in: .whitespacesAndNewlines)
            }
            let uscc = cell(usccColumn).uppercased(), name = cell(nameColumn), district = cell(districtColumn)
            if !uscc.isEmpty {
                if uscc.count != 18 {
                    problems.append(Problem(row: line.row, column: "统一社会信用代码 USCC", message: "\(uscc) has \(uscc.count) characters, not 18"))
                    continue
                }
                if !USCC.isValid(uscc) {
                    let expected = USCC.expectedCheckCharacter(uscc).map { "; its check character should be \($0), not \(uscc.last!)" } ?? ""
                    problems.append(Problem(row: line.row, column: "统一社会信用代码 USCC", message: "\(uscc) fails the GB 32100-2015 check digit\(expected)"))
                    continue
                }
            } else {
                if name.isEmpty {
                    problems.append(Problem(row: line.row, column: "企业名称 Firm", message: "neither a USCC nor a firm name is given"))
                    continue
                }
                if district.isEmpty {
                    problems.append(Problem(row: line.row, column: "地区 District", message: "a row without a USCC needs its 地区 to be matched by name"))
                    continue
                }
            }
            rows.append(Row(row: line.row, uscc: uscc, name: name, district: district))
        }
        var seen: [String: Int] = [:]
        for row in rows where !row.uscc.isEmpty {
            if let first = seen[row.uscc] {
                problems.append(Problem(row: row.row, column: "统一社会信用代码 USCC", message: "\(row.uscc) is listed twice (rows \(first) and \(row.row))"))
            } else {
                seen[row.uscc] = row.row
            }
        }
        if rows.isEmpty && problems.isEmpty { problems.append(Problem(row: 0, column: "", message: "the file has a heading but no rows")) }
        return (rows, problems.sorted { $0.row < $1.row })
    }

    static func cells(_ file: UploadedFile) throws -> [(row: Int, cells: [String])] {
        guard file.bytes.count <= maxBytes else { throw SpreadsheetError("the file is larger than \(maxBytes >> 20) MiB") }
        if file.bytes.starts(with: [0x50, 0x4B, 0x03, 0x04]) {
            return try XLSX.readFirstSheet(file.bytes, limits: XLSX.Limits(maxRows: maxRows + 1))
        }
        var reader = CSVStreamReader(encoding: nil)
        do {
            let records = try reader.feed(file.bytes) + reader.finish()
            return records.filter { $0.fields.contains { !$0.trimmingCharacters(in: .whitespaces).isEmpty } }.map { ($0.line, $0.fields) }
        } catch {
            throw SpreadsheetError("the file is neither an .xlsx workbook nor a readable CSV (\(error))")
        }
    }
}

/// How each row of a checked list matched the registered firms.
struct QualificationMatch: Sendable {
    enum Outcome: Sendable, Equatable {
        /// A registered firm (by USCC, or by exact name and 地区).
        case firm(String)
        /// A USCC not yet registered, with the name and 地区 to register it under.
        case newFirm
        case unmatched
        case ambiguous([String])
    }

    var row: QualificationList.Row
    var outcome: Outcome
    /// The registered name, when it differs from the list's.
    var registeredName: String?

    /// Unmatched or ambiguous: a clerk resolves the row before anything is stored.
    var needsClerk: Bool {
        switch outcome {
        case .unmatched, .ambiguous: true
        case .firm, .newFirm: false
        }
    }
}

struct QualificationImports: Sendable {
    let client: PostgresClient
    let logger: Logger

    /// Matches every row in one query: by USCC, else by exact name and 地区.
    func match(_ rows: [QualificationList.Row]) async throws -> [QualificationMatch] {
        var byUSCC: [String: String] = [:]
        var byName: [String: [String]] = [:]
        for try await (uscc, name, district) in try await client.query(
            """
            SELECT f.uscc::text, f.name, coalesce(f.district, '') FROM firms f
            WHERE f.uscc = ANY(\(rows.map(\.uscc).filter { !$0.isEmpty })::text[])
               OR (f.name, coalesce(f.district, '')) IN (SELECT * FROM unnest(\(rows.map(\.name))::text[], \(rows.map(\.district))::text[]))
            """, logger: logger
        ).decode((String, String, String).self) {
            byUSCC[uscc] = name
            byName[name + "\u{1F}" + district, default: []].append(uscc)
        }
        return rows.map { row in
            if !row.uscc.isEmpty {
                if let name = byUSCC[row.uscc] {
                    return QualificationMatch(row: row, outcome: .firm(row.uscc), registeredName: name != row.name && !row.name.isEmpty ? name : nil)
                }
                return QualificationMatch(row: row, outcome: row.name.isEmpty ? .unmatched : .newFirm, registeredName: nil)
            }
            let candidates = (byName[row.name + "\u{1F}" + row.district] ?? []).sorted()
            switch candidates.count {
            case 0: return QualificationMatch(row: row, outcome: .unmatched, registeredName: nil)
            case 1: return QualificationMatch(row: row, outcome: .firm(candidates[0]), registeredName: nil)
            default: return QualificationMatch(row: row, outcome: .ambiguous(candidates), registeredName: nil)
            }
        }
    }

    /// Keeps a checked list as a draft for the clerk to resolve.
    func saveDraft(fileName: String, level: String, recognisedOn: CivilDate, source: String, rows: [QualificationList.Row], by user: User) async throws -> Int64 {
        let json = String(decoding: try JSONEncoder().encode(rows), as: UTF8.self)
        var id: Int64 = 0
        for try await value in try await client.query(
            """
            INSERT INTO qualification_imports (created_by, file_name, level, recognised_on, source, rows)
            VALUES (\(user.id), \(fileName), \(level), \(recognisedOn.description)::date, \(source), \(json)::jsonb) RETURNING id
            """, logger: logger
        ).decode(Int64.self) {
            id = value
        }
        return id
    }

    struct Draft: Sendable {
        var id: Int64
        var fileName: String
        var level: String
        var recognisedOn: CivilDate
        var source: String
        var rows: [QualificationList.Row]
        var state: String
        var createdBy: Int64
    }

    func draft(_ id: Int64) async throws -> Draft? {
        for try await (file, level, day, source, rows, state, by) in try await client.query(
            "SELECT file_name, level, recognised_on::text, source, rows::text, state, created_by FROM qualification_imports WHERE id = \(id)", logger: logger
        ).decode((String, String, String, String, String, String, Int64).self) {
            return Draft(
                id: id, fileName: file, level: level, recognisedOn: try CivilDate.parse(day, field: "recognised_on"), source: source,
                rows: try JSONDecoder().decode([QualificationList.Row].self, from: Data(rows.utf8)), state: state, createdBy: by)
        }
        return nil
    }

    struct Outcome: Sendable {
        var added = 0
        var alreadyRecorded = 0
        var newFirms = 0
        var leftOut = 0
    }

    /// Stores a list whose every row is resolved to a firm (`resolved[row]`, a USCC), or left
    /// out (`nil` in `resolved`): new firms first, then one qualification per firm, in one
    /// transaction; a qualification already on record (same firm, level and date) is kept once.
    func commit(_ draft: Draft, matches: [QualificationMatch], resolved: [Int: String?], by user: User) async throws -> Outcome {
        let term = try await termYears(on: draft.recognisedOn)
        let validTo = draft.recognisedOn.anniversary(years: term) + -1
        var firms: [String] = []
        var newFirms: [(uscc: String, name: String, district: String)] = []
        var outcome = Outcome()
        for match in matches {
            switch match.outcome {
            case .firm(let uscc): firms.append(uscc)
            case .newFirm:
                newFirms.append((match.row.uscc, match.row.name, match.row.district))
                firms.append(match.row.uscc)
            case .unmatched, .ambiguous:
                if let choice = resolved[match.row.row], let uscc = choice {
                    firms.append(uscc)
                } else {
                    outcome.leftOut += 1
                }
            }
        }
        let unique = Array(Set(firms)).sorted()
        outcome.newFirms = newFirms.count
        return try await UserStore(client: client, logger: logger).actingAs(user) { connection in
            // The guarded transition first: a list imported or abandoned meanwhile changes nothing.
            var claimed = false
            for try await _ in try await connection.query(
                "UPDATE qualification_imports SET state = 'imported' WHERE id = \(draft.id) AND state = 'pending' RETURNING id", logger: logger)
            {
                claimed = true
            }
            guard claimed else { throw WebError.invalid(field: "import", message: "this list was already imported or abandoned") }
            if !newFirms.isEmpty {
                try await connection.query(
                    """
                    INSERT INTO firms (uscc, name, district)
                    SELECT u, n, nullif(d, '') FROM unnest(\(newFirms.map(\.uscc))::text[], \(newFirms.map(\.name))::text[], \(newFirms.map(\.district))::text[]) AS t(u, n, d)
                    ON CONFLICT (uscc) DO NOTHING
                    """, logger: logger)
            }
            for try await count in try await connection.query(
                """
                WITH added AS (
                    INSERT INTO qualifications (firm_uscc, level, valid_from, valid_to, source)
                    SELECT u, \(draft.level), \(draft.recognisedOn.description)::date, \(validTo.description)::date, \(draft.source)
                    FROM unnest(\(unique)::text[]) AS t(u)
                    WHERE NOT EXISTS (SELECT 1 FROM qualifications q WHERE q.firm_uscc = t.u AND q.level = \(draft.level)
                                                                       AND q.valid_from = \(draft.recognisedOn.description)::date)
                    RETURNING 1)
                SELECT count(*)::int FROM added
                """, logger: logger
            ).decode(Int.self) {
                outcome.added = count
            }
            outcome.alreadyRecorded = unique.count - outcome.added
            try await UserStore.audit(
                actor: user.id, action: "qualification.import", subject: "import:\(draft.id)",
                detail: [
                    "file": draft.fileName, "level": draft.level, "recognised": draft.recognisedOn.description, "source": draft.source,
                    "added": String(outcome.added), "alreadyRecorded": String(outcome.alreadyRecorded), "newFirms": String(outcome.newFirms),
                    "leftOut": String(outcome.leftOut),
                ], on: connection, logger: logger)
            return outcome
        }
    }

    /// The qualification term (years) of the policy in force on `day`.
    func termYears(on day: CivilDate) async throws -> Int {
        for try await value in try await client.query(
            """
            SELECT p.value FROM policy_parameters p JOIN policy_versions v ON v.id = p.version_id
            WHERE p.key = 'common.qualificationTermYears' AND v.valid_from <= \(day.description)::date
            ORDER BY v.valid_from DESC LIMIT 1
            """, logger: logger
        ).decode(String.self) {
            if let years = Int(value), (1...10).contains(years) { return years }
        }
        return 3
    }
}
