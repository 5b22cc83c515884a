// swift-tools-version:6.2
import PackageDescription

// Every target gets the same settings, as in Hummingbird itself: Swift 6 language mode with
// strict concurrency, explicit `any`, and imports that are internal unless said otherwise.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "SubsidyLedger",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "subsidy", targets: ["SubsidyCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
        .package(url: "https://github.com/apple/swift-openapi-generator.git", from: "1.14.3"),
        .package(url: "https://github.com/apple/swift-openapi-runtime.git", from: "1.13.4"),
        .package(url: "https://github.com/hummingbird-project/swift-openapi-hummingbird.git", from: "2.1.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/weichsel/ZIPFoundation.git", from: "0.9.20"),
        .package(url: "https://github.com/vapor/multipart-kit.git", from: "4.7.1"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        // Already in the graph through Hummingbird; named for the server's 100-continue handler.
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
    ],
    targets: [
        // Pure: the subsidy rules, money and the calculator contract. Foundation only, no I/O.
        .target(
            name: "SubsidyRules",
            swiftSettings: swiftSettings
        ),
        // Pure: bank statement parsers (MT940/MT942, camt.053, Chinese bank CSV) and the matching
        // rules. Foundation (and FoundationXML) only, no I/O.
        .target(
            name: "SubsidyReconciliation",
            dependencies: ["SubsidyRules"],
            swiftSettings: swiftSettings
        ),
        // glibc's malloc_trim, which the Glibc module does not export: the server gives back
        // what a heavy action freed before the next one takes its turn.
        .target(name: "CAllocator"),
        // PostgreSQL: migrations, repositories, the ledger and batches.
        .target(
            name: "SubsidyStore",
            dependencies: [
                "SubsidyRules",
                "SubsidyReconciliation",
                "CAllocator",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        // The bank API's contract: types and server protocol generated from openapi.yaml, which the
        // server also serves at /openapi.yaml. The document is the source of truth.
        .target(
            name: "SubsidyBankAPI",
            dependencies: [
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
            ],
            resources: [.copy("openapi.yaml")],
            swiftSettings: swiftSettings,
            plugins: [.plugin(name: "OpenAPIGenerator", package: "swift-openapi-generator")]
        ),
        // The bureau's web application: server-rendered pages (swift-mustache templates), sessions
        // in PostgreSQL, SpreadsheetML (.xlsx) over ZIPFoundation.
        .target(
            name: "SubsidyWeb",
            dependencies: [
                "SubsidyRules",
                "SubsidyStore",
                "SubsidyReconciliation",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
                .product(name: "MultipartKit", package: "multipart-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            resources: [.copy("Templates")],
            swiftSettings: swiftSettings
        ),
        // HTTP: Hummingbird 2 application and routes.
        .target(
            name: "SubsidyServer",
            dependencies: [
                "SubsidyWeb",
                "SubsidyRules",
                "SubsidyStore",
                "SubsidyReconciliation",
                "SubsidyBankAPI",
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                .product(name: "OpenAPIHummingbird", package: "swift-openapi-hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            ],
            swiftSettings: swiftSettings
        ),
        // The one executable, `subsidy`, with its subcommands.
        .executableTarget(
            name: "SubsidyCLI",
            dependencies: [
                "SubsidyRules",
                "SubsidyReconciliation",
                "SubsidyStore",
                "SubsidyServer",
                "SubsidyWeb",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // Helpers for the test targets: fresh PostgreSQL databases per test.
        .target(
            name: "SubsidyTestSupport",
            dependencies: [
                "SubsidyStore",
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SubsidyRulesTests",
            dependencies: [
                "SubsidyRules",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SubsidyReconciliationTests",
            dependencies: [
                "SubsidyReconciliation",
                "SubsidyRules",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SubsidyStoreTests",
            dependencies: [
                "SubsidyStore",
                "SubsidyTestSupport",
                "SubsidyRules",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SubsidyWebTests",
            dependencies: [
                "SubsidyWeb",
                "SubsidyTestSupport",
                "SubsidyStore",
                "SubsidyRules",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SubsidyServerTests",
            dependencies: [
                "SubsidyServer",
                "SubsidyTestSupport",
                "SubsidyStore",
                "SubsidyRules",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
