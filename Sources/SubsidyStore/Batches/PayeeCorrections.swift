import Foundation
import PostgresNIO
public import SubsidyRules

/// A payee changed after approval: a clerk asks, with a reason; a second person (an approver
/// who did not ask) applies or rejects it. Until then the frozen payee stands; a paid line's
/// payee never changes.
extension BatchStore {
    public func requestPayeeCorrection(
        batch id: Int64, recipient: String, name: String, account: String, bank: String, reason: String, by user: User
    ) async throws -> Int64 {
        try UserStore.require(user, .clerk)
        let account = account.filter { !$0.isWhitespace && $0 != "-" }
        guard account.count >= 6, account.count <= 32, account.allSatisfy(\.isASCII), account.allSatisfy(\.isNumber) else {
            throw BatchError.invalidInput(InputError(field: "account", message: "\"\(account)\" is not an account number (6 to 32 digits)"))
        }
        for (field, value) in [("name", name), ("bank", bank), ("reason", reason)] where value.trimmingCharacters(in: .whitespaces).isEmpty {
            throw BatchError.invalidInput(InputError(field: field, message: "is required"))
        }
        return try await users.actingAs(user) { connection in
            var found: (Int64, String)?
            for try await row in try await connection.query(
                """
                SELECT bl.id, bl.status FROM batch_lines bl JOIN batches b ON b.id = bl.batch_id
                WHERE bl.batch_id = \(id) AND bl.recipient_uscc = \(recipient) AND bl.payee_name IS NOT NULL
                  AND b.state IN ('approved', 'exported', 'paid') FOR UPDATE OF bl
                """, logger: logger
            ).decode((Int64, String).self) {
                found = row
            }
            guard let (lineID, status) = found else { throw BatchError.unknownRecipient(recipient) }
            guard status == "active" || status == "returned" else { throw BatchError.linePaid(recipient) }
            var correction: Int64 = 0
            for try await value in try await connection.query(
                """
                INSERT INTO payee_corrections (batch_line_id, old_name, old_account, old_bank, new_name, new_account, new_bank, reason, requested_by)
                SELECT id, payee_name, payee_account, payee_bank, \(name), \(account), \(bank), \(reason), \(user.id)
                FROM batch_lines WHERE id = \(lineID) RETURNING id
                """, logger: logger
            ).decode(Int64.self) {
                correction = value
            }
            try await audit(user, "payee.request", batch: id, ["recipient": recipient, "account": account, "reason": reason, "correction": String(correction)], on: connection)
            return correction
        }
    }

    /// Applies (or rejects) a requested correction: four eyes, and only while the line still
    /// waits for its money.
    public func decidePayeeCorrection(_ correction: Int64, apply: Bool, by user: User) async throws {
        try UserStore.require(user, .approver)
        try await users.actingAs(user) { connection in
            var found: (Int64, Int64, Int64, String, String, String, String, String)?
            for try await row in try await connection.query(
                """
                SELECT c.batch_line_id, c.requested_by, bl.batch_id, bl.status, c.new_name, c.new_account, c.new_bank, bl.recipient_uscc::text
                FROM payee_corrections c JOIN batch_lines bl ON bl.id = c.batch_line_id
                WHERE c.id = \(correction) AND c.state = 'requested' FOR UPDATE
                """, logger: logger
            ).decode((Int64, Int64, Int64, String, String, String, String, String).self) {
                found = row
            }
            guard let (lineID, requestedBy, batch, status, name, account, bank, recipient) = found else { throw BatchError.noSuchCorrection(correction) }
            guard requestedBy != user.id else { throw BatchError.sameUser(login: user.login) }
            if apply {
                guard status == "active" || status == "returned" else { throw BatchError.linePaid(recipient) }
                try await connection.query(
                    "UPDATE batch_lines SET payee_name = \(name), payee_account = \(account), payee_bank = \(bank) WHERE id = \(lineID)", logger: logger)
            }
            try await connection.query(
                """
                UPDATE payee_corrections SET state = \(apply ? "applied" : "rejected"), decided_by = \(user.id), decided_at = now()
                WHERE id = \(correction) AND state = 'requested'
                """, logger: logger)
            try await audit(user, apply ? "payee.apply" : "payee.reject", batch: batch, ["correction": String(correction), "account": account], on: connection)
        }
    }
}
