public import Hummingbird
public import NIOCore

/// The request context of the whole server: Hummingbird's basics plus the peer's address, which
/// sign-in throttling counts per address.
public struct WebRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }

    /// The peer's IP address as text ("unknown" when the transport has none, as in tests).
    public var address: String { remoteAddress?.ipAddress ?? "unknown" }
}
