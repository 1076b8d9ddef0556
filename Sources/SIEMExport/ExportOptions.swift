/// Settings the export formats need beyond the events themselves: who is exporting, and the
/// receiver-side names syslog and Splunk HEC records carry.
public struct ExportOptions: Sendable, Equatable {
    /// rearview's version, written into CEF headers and OCSF `metadata.product.version`.
    public var productVersion: String
    /// Host name for events that have no `HostName` (syslog HOSTNAME, HEC `host`); empty: none.
    public var defaultHostName: String
    /// Syslog APP-NAME (printable ASCII, at most 48 characters; longer names are cut).
    public var syslogAppName: String
    /// Syslog facility 0–23 (default 13, "log audit"); PRI = facility × 8 + severity.
    public var syslogFacility: Int
    /// HEC `index`, omitted when nil (the token's default index applies).
    public var hecIndex: String?
    /// HEC `source`.
    public var hecSource: String
    /// HEC `sourcetype`.
    public var hecSourcetype: String

    public init(productVersion: String = "0.0.0", defaultHostName: String = "", syslogAppName: String = "rearview",
                syslogFacility: Int = 13, hecIndex: String? = nil, hecSource: String = "rearview",
                hecSourcetype: String = "kubearmor") {
        self.productVersion = productVersion
        self.defaultHostName = defaultHostName
        self.syslogAppName = syslogAppName
        self.syslogFacility = min(max(syslogFacility, 0), 23)
        self.hecIndex = hecIndex
        self.hecSource = hecSource
        self.hecSourcetype = hecSourcetype
    }
}
