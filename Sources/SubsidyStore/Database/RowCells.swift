import PostgresNIO

/// Reads a row's columns in order, each through a decode specialised for its own type.
///
/// PostgresNIO's `decode((A, B, …).self)` takes the columns as a parameter pack: the tuple's
/// generic metadata is looked up at run time for every row (`swift_getTupleTypeMetadata`, the
/// runtime's metadata cache and its lock). Over the 1.6 million interest records a province
/// batch reads, the packed decode was a quarter of the command's CPU samples (`perf record`).
/// A cell's `decode(T.self)` is inlinable and specialised here, so this costs the decoding alone.
struct RowCells {
    private var cells: PostgresRow.Iterator

    init(_ row: PostgresRow) {
        cells = row.makeIterator()
    }

    mutating func next<T: PostgresDecodable>(_: T.Type = T.self, file: String = #fileID, line: Int = #line) throws -> T {
        guard let cell = cells.next() else {
            throw PostgresDecodingError.Code.missingData
        }
        return try cell.decode(T.self, context: .default, file: file, line: line)
    }
}
