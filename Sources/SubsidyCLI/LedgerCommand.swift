import ArgumentParser
import Foundation
import SubsidyRules
import SubsidyStore

struct LedgerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledger", abstract: "Check and read the double-entry ledger.",
        subcommands: [Verify.self, Balance.self])

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Recompute the hash chain; report the first tampered entry (exit 1 if any).")

        @OptionGroup var options: DatabaseOptions

        @Option(help: "A head recorded earlier, SEQ:HASH (audit log, 公示 list, reconciliation report): the chain must still contain it.")
        var expect: String?

        func run() async throws {
            let expected = try expect.map { text in
                guard let head = LedgerHead.parse(text) else { throw ValidationError("--expect takes SEQ:HASH as `ledger verify` prints it (64 lower-case hex digits)") }
                return head
            }
            let report = try await options.withClient("subsidy.ledger") { client, logger in
                try await Ledger(logger: logger).verify(client, expect: expected)
            }
            if let broken = report.firstBroken {
                print("账簿校验失败 Ledger check FAILED at entry \(broken.seq): \(broken.reason) (\(report.entriesChecked) entries read)")
                throw ExitCode(1)
            }
            print("账簿完整 Ledger intact: \(report.entriesChecked) entries, hash chain and balances verified")
            print("账簿校验点 Head: \(report.head?.description ?? "(empty)")\(expected.map { " — contains the expected \($0)" } ?? "")")
        }
    }

    struct Balance: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the trial balance and each account's balance at the end of a day (Beijing time).")

        @OptionGroup var options: DatabaseOptions

        @Option(help: "YYYY-MM-DD (default: now).")
        var at: String?

        func run() async throws {
            var day: CivilDate?
            if let at {
                do { day = try CivilDate.parse(at, field: "--at") } catch { throw ValidationError(error.description) }
            }
            let endOfDay = day
            let balances: [AccountBalance] = try await options.withClient("subsidy.ledger") { client, logger in
                try await Ledger(logger: logger).balances(client, at: endOfDay)
            }
            let width = max(24, balances.map(\.code.count).max() ?? 0)
            func pad(_ text: String, _ count: Int, left: Bool = false) -> String {
                let padding = String(repeating: " ", count: max(0, count - text.count))
                return left ? padding + text : text + padding
            }
            print("试算平衡表 Trial balance at \(day.map { "end of \($0)" } ?? "now")")
            print(pad("科目 Account", width) + pad("借方 Debits", 20, left: true) + pad("贷方 Credits", 20, left: true) + pad("余额 Balance", 20, left: true))
            for balance in balances {
                print(pad(balance.code, width) + pad(balance.debits.grouped, 20, left: true) + pad(balance.credits.grouped, 20, left: true)
                    + pad(balance.balance.grouped, 20, left: true) + "  " + balance.name)
            }
            let debits = balances.map(\.debits).sum()
            let credits = balances.map(\.credits).sum()
            print(pad("合计 Total", width) + pad(debits.grouped, 20, left: true) + pad(credits.grouped, 20, left: true)
                + pad((debits - credits).grouped, 20, left: true))
            print(debits == credits ? "借贷平衡 Debits equal credits" : "借贷不平 DEBITS DO NOT EQUAL CREDITS")
            if debits != credits { throw ExitCode(1) }
        }
    }
}
