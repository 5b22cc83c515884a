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

/// A date sent as a `date` parameter (binary), not as text cast in the query: `$1::date` on a text
/// parameter is `date_in`, a stable function the planner does not fold, so a filter such as
/// `r.paid_on >= $1::date` parsed the day again for every row it tested (3.2 million times
/// in a province 壮大贷 batch's reads).
extension CivilDate: PostgresNonThrowingEncodable, PostgresArrayEncodable {
    public static var psqlArrayType: PostgresDataType { .dateArray }

    public static var psqlType: PostgresDataType { .date }
    public static var psqlFormat: PostgresFormat { .binary }

    public func encode<JSONEncoder: PostgresJSONEncoder>(into byteBuffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>) {
        byteBuffer.writeInteger(Int32(clamping: dayNumber - Self.postgresEpochDay))
    }
}
