/// One row of a format's field mapping: an output field, the KubeArmor field(s) it comes from, and how.
///
/// Each encoder declares its mapping as a table of these rows; `export --help` and the man page print
/// the same tables, and the tests check that encoders write no field their table does not name.
public struct FieldMapping: Sendable, Equatable {
    /// The output field (`process.pid`, `dst`, SD parameter `seq`, …).
    public let target: String
    /// The KubeArmor or rearview field(s) it comes from (`HostPID`), or a constant.
    public let source: String
    /// How the value is derived, when it is not copied as it is.
    public let note: String

    public init(_ target: String, _ source: String, _ note: String = "") {
        self.target = target
        self.source = source
        self.note = note
    }
}

extension ExportFormat {
    /// The field mapping of this format, row by row.
    public var fieldMappings: [FieldMapping] {
        switch self {
        case .kubearmor: [FieldMapping("(record)", "all fields", "the KubeArmor JSON record, keys in input order, lossless")]
        case .ecs: ECSEncoder.mapping
        case .ocsf: OCSFEncoder.mapping
        case .cef: CEFEncoder.mapping
        case .syslog: SyslogEncoder.mapping
        case .splunkHEC: SplunkHECEncoder.mapping
        }
    }

    /// The mapping as indented text lines (`target <- source: note`), for help and man pages.
    public var mappingText: String {
        let width = min(fieldMappings.map(\.target.count).max() ?? 0, 34)
        return fieldMappings.map { row in
            let padded = row.target + String(repeating: " ", count: max(width - row.target.count, 0))
            return "  " + padded + " <- " + row.source + (row.note.isEmpty ? "" : ": " + row.note)
        }.joined(separator: "\n")
    }

    /// A new encoder of this format.
    public func encoder(_ options: ExportOptions = ExportOptions(), processStarts: (any ProcessStartLookup)? = nil) -> any RecordEncoder {
        switch self {
        case .kubearmor: KubeArmorRecordEncoder()
        case .ecs: ECSEncoder(options, processStarts: processStarts)
        case .ocsf: OCSFEncoder(options, processStarts: processStarts)
        case .cef: CEFEncoder(options)
        case .syslog: SyslogEncoder(options)
        case .splunkHEC: SplunkHECEncoder(options)
        }
    }
}
