public import Logging
public import PostgresNIO

/// The bank-facing data: loans and interest records, always scoped to one bank.
public struct BankData: Sendable {
    public let client: PostgresClient
    public let logger: Logger

    public static let maxRecordsPerUpload = 200_000
    public static let maxProblemsListed = 1000
    public static let maxLoansPerUpload = 10_000

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }
}
