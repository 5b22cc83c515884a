/// Invalid input: the request is refused whole, and this says which field is wrong and why.
/// `field` is a path into the request, such as `loans[0].interest[2].paid`.
public struct InputError: Error, Hashable, Sendable, CustomStringConvertible {
    public var field: String
    public var message: String

    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { field.isEmpty ? message : "\(field): \(message)" }
}
