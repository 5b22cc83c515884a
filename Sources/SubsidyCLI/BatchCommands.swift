import ArgumentParser
import Foundation
import Logging
import PostgresNIO
import SubsidyRules
import SubsidyStore

/// Who is acting: `--user LOGIN`, with the password from `SUBSIDY_PASSWORD` or the first line of
/// standard input.
struct UserOptions: ParsableArguments {
    @Option(help: "Your login.")
    var user: String

    func authenticate(_ users: UserStore) async throws -> User {
        let password = ProcessInfo.processInfo.environment["SUBSIDY_PASSWORD"] ?? readLine(strippingNewline: true)
        guard let password, !password.isEmpty else { throw ValidationError("give the password in SUBSIDY_PASSWORD or on standard input") }
        return try await users.user(user, password: password)
    }

    func authenticate(_ client: PostgresClient, _ logger: Logger) async throws -> User {
        try await authenticate(UserStore(client: client, logger: logger))
    }
}

/// Runs `body` for a signed-in user, printing the domain errors a person can act on plainly
/// (exit 1) instead of as a crash report.
func actAsUser<T: Sendable>(
    _ options: DatabaseOptions, _ who: UserOptions, label: String, _ body: @Sendable (PostgresClient, Logger, User) async throws -> T
) async throws -> T {
    try await actSigningIn(options, who, label: label) { client, logger, signingIn in
        try await body(client, logger, try await signingIn.value)
    }
}

/// `actAsUser`, with the user signing in (bcrypt, about 0.27 s of CPU) while `body` begins:
/// `body` may read what needs no user before it awaits the sign-in, and writes and reports
/// nothing for the user before it succeeds.
func actSigningIn<T: Sendable>(
    _ options: DatabaseOptions, _ who: UserOptions, label: String,
    _ body: @Sendable (PostgresClient, Logger, Task<User, any Error>) async throws -> T
) async throws -> T {
    do {
        return try await options.withClient(label) { client, logger in
            let signingIn = Task { try await who.authenticate(client, logger) }
            do {
                return try await body(client, logger, signingIn)
            } catch {
                // The sign-in never outlives the client.
                _ = try? await signingIn.value
                throw error
            }
        }
    } catch let error as BatchError {
        FileHandle.standardError.write(Data("error: \(error.description)\n".utf8))
        throw ExitCode(1)
    }
}

func parseProgram(_ text: String) throws -> Program {
    guard let program = Program(rawValue: text) else {
        throw ValidationError("unknown program \"\(text)\": zhuangda, xinyidai, equity, fund or guarantee")
    }
    return program
}

/// A batch and the business day an action happens on: today in Beijing by the server's clock,
/// or `--today` on a rehearsal database (demos, tests, training); a real database refuses it.
struct DatedBatchOptions: ParsableArguments {
    @Argument var id: Int64
    @Option(help: "YYYY-MM-DD, on a rehearsal database only (default: today in Beijing).") var today: String?

    func day() throws -> CivilDate? {
        guard let today else { return nil }
        do { return try CivilDate.parse(today, field: "--today") } catch { throw ValidationError(error.description) }
    }
}

func printSummary(_ batch: BatchSummary) {
    print("批次 Batch \(batch.id): \(batch.program.chineseName) \(batch.program.rawValue) \(batch.year)\(batch.district.map { " \($0)" } ?? "")")
    print("  状态 State: \(batch.state.chineseName) \(batch.state.rawValue)")
    print("  合计 Total: \(Money(fen: batch.totalFen).grouped)   明细 Lines: \(batch.lines)   剔除 Excluded items: \(batch.excludedItems)")
    if let from = batch.publicityFrom, let until = batch.publicityUntil {
        print("  公示 Publicity: \(from) – \(until)")
    }
}

struct UserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "user", abstract: "Manage users (admin).", subcommands: [Add.self])

    static func parseRoles(_ names: [String]) throws -> Set<Role> {
        try Set(names.map { text in
            guard let role = Role(rawValue: text) else { throw ValidationError("unknown role \"\(text)\": clerk, approver, auditor or admin") }
            return role
        })
    }

    static func newPassword() -> String {
        ProcessInfo.processInfo.environment["SUBSIDY_NEW_PASSWORD"] ?? readLine(strippingNewline: true) ?? ""
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a user (an admin signs in with --user); the new password comes from SUBSIDY_NEW_PASSWORD and is stored only as a bcrypt hash.")
        @OptionGroup var options: DatabaseOptions
        @OptionGroup var who: UserOptions
        @Argument var login: String
        @Option(help: "The name shown in the audit log.") var name: String
        @Option(help: "clerk, approver, auditor or admin (repeatable).") var role: [String]

        func run() async throws {
            let roles = try UserCommand.parseRoles(role)
            guard let password = ProcessInfo.processInfo.environment["SUBSIDY_NEW_PASSWORD"], password.count >= 10 else {
                throw ValidationError("give the new user's password (at least 10 characters) in SUBSIDY_NEW_PASSWORD")
            }
            let (login, name) = (self.login, self.name)
            let user = try await actAsUser(options, who, label: "subsidy.user") { client, logger, admin in
                try await UserStore(client: client, logger: logger).add(login: login, displayName: name, password: password, roles: roles, by: admin)
            }
            print("user \(login) added (id \(user.id)), roles: \(roles.map(\.rawValue).sorted().joined(separator: ", "))")
        }
    }
}

struct InitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Initialise a new database once: its first administrator, and whether it is a rehearsal database.",
        discussion: """
            The password comes from SUBSIDY_NEW_PASSWORD. Refused when the database already has an administrator. \
            --rehearsal marks a database for demos, tests and training: only there may actions be dated with --today. \
            The choice cannot be changed later.
            """)
    @OptionGroup var options: DatabaseOptions
    @Option(help: "The administrator's login.") var admin: String
    @Option(help: "The administrator's name (default: the login).") var name: String?
    @Flag(help: "A rehearsal database (demos, tests, training): actions may be dated with --today.") var rehearsal = false

    func run() async throws {
        guard let password = ProcessInfo.processInfo.environment["SUBSIDY_NEW_PASSWORD"] else {
            throw ValidationError("give the administrator's password (at least 10 characters) in SUBSIDY_NEW_PASSWORD")
        }
        let (login, name, rehearsal) = (admin, self.name ?? admin, self.rehearsal)
        do {
            _ = try await options.withClient("subsidy.init") { client, logger in
                try await UserStore(client: client, logger: logger).initialise(admin: login, displayName: name, password: password, rehearsal: rehearsal)
            }
        } catch let error as BatchError {
            FileHandle.standardError.write(Data("error: \(error.description)\n".utf8))
            throw ExitCode(1)
        }
        print("initialised\(rehearsal ? " as a rehearsal database (演练库)" : ""): administrator \(login)")
    }
}

struct BudgetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "budget", abstract: "Budgets (专项资金).", subcommands: [Set.self])

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set the budget of a program-year (admin).")
        @OptionGroup var options: DatabaseOptions
        @OptionGroup var who: UserOptions
        @Option var program: String
        @Option var year: Int
        @Option(help: "Amount in yuan, e.g. 50000000.00.") var amount: String
        @Option(help: "The document that grants it, e.g. 成财教〔2025〕12号.") var source: String

        func run() async throws {
            let program = try parseProgram(self.program)
            let amount: Money
            do { amount = try Money.parse(self.amount, field: "--amount") } catch { throw ValidationError(error.description) }
            try await actAsUser(options, who, label: "subsidy.budget") { client, logger, user in
                try await BatchStore(client: client, logger: logger).setBudget(program: program, year: year, amount: amount, source: source, by: user)
            }
            print("budget \(program.rawValue) \(year): \(amount.grouped) (\(source))")
        }
    }
}

struct BatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "batch", abstract: "Subsidy batches: create, compute, 公示, approve, export.",
        subcommands: [Create.self, Compute.self, Show.self, Exclude.self, Submit.self, Approve.self, Export.self, Close.self, Cancel.self, Payee.self])

    /// Runs `body` with the store and the authenticated user, printing domain errors plainly.
    static func act<T: Sendable>(
        _ options: DatabaseOptions, _ who: UserOptions, _ body: @Sendable (BatchStore, User) async throws -> T
    ) async throws -> T {
        try await actAsUser(options, who, label: "subsidy.batch") { client, logger, user in
            try await body(BatchStore(client: client, logger: logger), user)
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a draft batch for a program-year (optionally one district).")
        @OptionGroup var options: DatabaseOptions
        @OptionGroup var who: UserOptions
        @Option var program: String
        @Option var year: Int
        @Option var district: String?

        func run() async throws {
            let program = try parseProgram(self.program)
            let (year, district) = (self.year, self.district)
            let batch = try await BatchCommand.act(options, who) { store, user in
                try await store.summary(try await store.create(program: program, year: year, district: district, by: user))
            }
            printSummary(batch)
        }
    }

    struct Compute: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Compute (or recompute) a batch with the rules engine.")
        @OptionGroup var options: DatabaseOptions
        @OptionGroup var who: UserOptions
        @Argument var id: Int64
        @Option(help: "Recipients computed at a time (memory is one chunk's inputs).") var chunk = BatchStore.defaultChunk
        @Flag(help: "试算: compute and report the lines, total and exclusions, storing nothing (the batch, in any state, its lines and the audit log stay as they are).")
        var trial = false

        func run() async throws {
            let (id, trial) = (self.id, self.trial)
            let chunk = max(1, self.chunk)
            let clock = ContinuousClock()
            let started = clock.now
            // The batch's first reads go on while the password is checked (BatchStore.compute(_:signingIn:)).
            let (batch, result) = try await actSigningIn(options, who, label: "subsidy.batch") { client, logger, signingIn in
                let store = BatchStore(client: client, logger: logger)
                let progress: @Sendable (String) -> Void = { message in
                    FileHandle.standardError.write(Data("[\(clock.now - started)] \(message)\n".utf8))
                }
                if trial {
                    let result = try await store.trial(id, signingIn: signingIn, chunk: chunk, progress: progress)
                    return (result.batch, Optional(result))
                }
                return (try await store.compute(id, signingIn: signingIn, chunk: chunk, progress: progress), nil)
            }
            FileHandle.standardError.write(Data("[\(clock.now - started)] done\n".utf8))
            printSummary(batch)
            if let result {
                print("  试算 Trial (nothing stored): 合计 Total: \(result.total.grouped)   明细 Lines: \(result.lines)   剔除 Excluded items: \(result.excludedItems)")
                print("    \(result.recipients) recipients, \(result.interestRecords) interest records")
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a batch and its lines.")
        @OptionGroup var options: DatabaseOptions
        @Argument var id: Int64
        @Flag(help: "Include each line's explanation.") var explain = false

        func run() async throws {
            let id = self.id
            let (batch, lines) = try await options.withClient("subsidy.batch") { client, logger in
                let store = BatchStore(client: client, logger: logger)
                return (try await store.summary(id), try await store.lines(id))
            }
            printSummary(batch)
            print("  序号 No.  统一社会信用代码 USCC      本次测算 Computed   已发放 Granted   本批 This batch   状态 Status  附言 Reference  企业 Firm")
            for line in lines {
                let status = line.status == "excluded" ? "excluded (\(line.excludedReason ?? ""))" : line.amount < .zero ? "recovery 应收" : line.status
                print("  \(line.lineNo)  \(line.recipient)  \(line.computed.grouped)  \(line.previously.grouped)  \(line.amount.grouped)  \(status)  \(line.paymentRef)  \(line.recipientName)")
                if explain { print("      \(line.explanation)") }
            }
        }
    }

    struct Exclude: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Leave a line out, with a written reason (audited).")
        @OptionGroup var options: DatabaseOptions
        @OptionGroup var who: UserOptions
        @Argument var id: Int64
        @Option var recipient: String
        @Option var reason: String

        func run() async throws {
            let (id, recipient, reason) = (self.id, self.recipient, self.reason)
            try await BatchCommand.act(options, who) { store, user in try await store.exclude(id, recipient: recipient, reason: reason, by: user) }
            print("line for \(recipient) excluded from batch \(id)")
        }
    }

    struct Submit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start 公示 (5 working days).")
        @OptionGroup var options: DatabaseOptions
        @OptionGroup var who: UserOptions
        @OptionGroup var batch: DatedBatchOptions

        func run() async throws {
            let (id, day) = (batch.id, try batch.day())
            printSummary(try await BatchCommand.act(options, who) { store, user in try await store.submit(id, by: user, today: day) })
        }
    }

    struct Approve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Approve after 公示 (a different user from the one who computed).")
        @OptionGroup var options: DatabaseOptions
        @OptionGroup var who: UserOptions
        @OptionGroup var batch: DatedBatchOptions

        func run() async throws {
            let (id, day) = (batch.id, try batch.day())
            printSummary(try await BatchCommand.act(options, who) { store, user in try await store.approve(id, by: user, today: day) })
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write the payment file and the 公示 list (CSV, UTF-8 with BOM).")
        @OptionGroup var options: DatabaseOptions
        @OptionGroup var who: UserOptions
        @Argument var id: Int64
        @Option(help: "Folder to write into.") var out = "."

        func run() async throws {
            let (id, out) = (self.id, self.out)
            let paths = try await BatchCommand.act(options, who) { store, user in
                let batch = try await store.markExported(id, by: user)
                // Row by row into the files: a nation batch's lines never sit in memory at once.
                var paths: [String] = []
                for kind in BatchExport.Kind.allCases {
                    let path = "\(out)/batch-\(id)-\(kind.rawValue).csv"
                    try await store.exportCSV(kind, batch: batch, to: path)
                    paths.append(path)
                }
                return paths
            }
            print("支付文件 payment file: \(paths[0])\n公示名单 publicity list: \(paths[1])")
        }
    }

    struct Close: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Close a batch that reconciliation found fully paid.")
        @OptionGroup var options: DatabaseOptions
        @OptionGroup var who: UserOptions
        @Argument var id: Int64

        func run() async throws {
            let id = self.id
            printSummary(try await BatchCommand.act(options, who) { store, user in try await store.close(id, by: user) })
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cancel a batch before approval.")
        @OptionGroup var options: DatabaseOptions
        @OptionGroup var who: UserOptions
        @Argument var id: Int64
        @Option var reason: String

        func run() async throws {
            let (id, reason) = (self.id, self.reason)
            try await BatchCommand.act(options, who) { store, user in try await store.cancel(id, by: user, reason: reason) }
            print("batch \(id) cancelled")
        }
    }
}

extension BatchCommand {
    struct Payee: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Correct a payee frozen at approval: a clerk requests, a different approver applies or rejects.",
            subcommands: [Request.self, Apply.self, Reject.self])

        static func decide(_ options: DatabaseOptions, _ who: UserOptions, _ correction: Int64, apply: Bool) async throws {
            try await BatchCommand.act(options, who) { store, user in try await store.decidePayeeCorrection(correction, apply: apply, by: user) }
            print("payee correction \(correction) \(apply ? "applied" : "rejected")")
        }

        struct Request: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Request a new payee account for a line not yet paid (clerk).")
            @OptionGroup var options: DatabaseOptions
            @OptionGroup var who: UserOptions
            @Argument var id: Int64
            @Option var recipient: String
            @Option(help: "Payee name (收款人名称).") var name: String
            @Option(help: "Account number (收款账号).") var account: String
            @Option(help: "Bank (开户行).") var bank: String
            @Option var reason: String

            func run() async throws {
                let (id, recipient, name, account, bank, reason) = (self.id, self.recipient, self.name, self.account, self.bank, self.reason)
                let correction = try await BatchCommand.act(options, who) { store, user in
                    try await store.requestPayeeCorrection(batch: id, recipient: recipient, name: name, account: account, bank: bank, reason: reason, by: user)
                }
                print("payee correction \(correction) requested; another person (approver) applies it with `subsidy batch payee apply \(correction)`")
            }
        }

        struct Apply: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Apply a requested payee correction (an approver who did not request it).")
            @OptionGroup var options: DatabaseOptions
            @OptionGroup var who: UserOptions
            @Argument var correction: Int64

            func run() async throws { try await Payee.decide(options, who, correction, apply: true) }
        }

        struct Reject: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Reject a requested payee correction.")
            @OptionGroup var options: DatabaseOptions
            @OptionGroup var who: UserOptions
            @Argument var correction: Int64

            func run() async throws { try await Payee.decide(options, who, correction, apply: false) }
        }
    }
}
