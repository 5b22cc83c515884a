public import NIOCore
public import PostgresNIO
public import SubsidyRules

/// A `date` column read as PostgreSQL sends it (binary: days since 2000-01-01), so that queries
/// select dates as they are, not as text formatted by the server and parsed here: a batch reads
/// three dates per interest record, and parsing them was a fifth of the time spent reading.
extension CivilDate: PostgresDecodable {
    /// 2000-01-01 counted from 1970-01-01, CivilDate's day 0.
    static let postgresEpochDay = 10_957

    /// The day PostgreSQL's binary `date` names: days since 2000-01-01.
    init(postgresDays days: Int32) {
        self.init(dayNumber: Int(days) + Self.postgresEpochDay)
    }

    public init<JSONDecoder: PostgresJSONDecoder>(
        from buffer: inout ByteBuffer, type: PostgresDataType, format: PostgresFormat, context: PostgresDecodingContext<JSONDecoder>
    ) throws {
        guard type == .date, format == .binary, buffer.readableBytes == 4, let days = buffer.readInteger(as: Int32.self) else {
            throw PostgresDecodingError.Code.typeMismatch
        }
        self.init(postgresDays: days)
    }
}
