/// The forms an incident report is written in by `rearview report`.
public enum ReportFormat: String, CaseIterable, Sendable {
    /// One self-contained HTML file (inline CSS and SVG, no network fetches): for people.
    case html
    /// Markdown: for tickets and wikis.
    case md
    /// JSON with every selected event: for machines, never capped.
    case json
}
