import EventModel

/// A parsed filter over events: the language of `rearview query`.
///
/// ```
/// Operation = Process and ProcessName in (/usr/bin/ps, /usr/bin/pgrep) and Severity >= 5
/// ```
///
/// **Fields.** Every ``EventField`` by its KubeArmor name, ignoring case (`hostpid` is `HostPID`), plus
/// the virtual fields `TimeNs` (unix ns) and `Seq` (store sequence). Any other name is an extra of the
/// record (``Event/extras``) by exact key; a JSON string extra is compared by its unescaped text, other
/// JSON values by their compact JSON text, and JSON numbers as numbers against numeric literals. A
/// field name may be quoted (`'cluster-id' = a`). ``FilterVocabulary`` tells a name no stored record
/// has (a typo) from an extra.
///
/// **Operators.**
/// | form | true when |
/// | --- | --- |
/// | `F = v`, `F != v` | equal / not equal. Numeric fields (`Timestamp`, `HostPID`, `HostPPID`, `PID`, `PPID`, `UID`, `TimeNs`, `Seq`) compare as numbers, `Severity` as a number when `v` is an integer, all else by exact UTF-8 bytes (case-sensitive). `!=` is exactly `not (F = v)`, so it holds for an absent field. |
/// | `F < v`, `<=`, `>`, `>=` | ordered the same way; strings in byte (Unicode scalar) order. An absent extra or a non-numeric `Severity` never satisfies an ordering against a number. |
/// | `F ~ re` | the PCRE2 regex `re` matches somewhere in `F` (unanchored; `(?i)` for caseless) |
/// | `F glob p` | the shell pattern `p` matches all of `F`: `*` any run (**`/` included**), `?` one character, `[a-z]`, `[!…]` |
/// | `F in (a, b, …)` | `F = a or F = b or …` |
/// | `F contains s`, `F startswith s` | substring, prefix (case-sensitive) |
/// | `F has s` | one item of the comma-separated `F` equals `s` (`Labels has app=nginx`) |
/// | `F exists` | typed strings non-empty, numbers non-zero, extras present |
/// | `not`, `and`, `or`, `( … )` | precedence `not` > `and` > `or`; keywords ignore case |
///
/// Numbers and strings in operators other than the comparisons use the field's text (numbers in
/// decimal). `Timestamp` literals are unix seconds (`1717149600`, `1717149600.5`) or RFC 3339;
/// `TimeNs` literals unix ns or RFC 3339; both compare at nanosecond precision.
///
/// **Values.** Bare words run to the next space, `(`, `)` or `,` (`/usr/bin/ps`, `10.0.0.5`, `a=b`);
/// `'…'` and `"…"` quote anything, with `\\`, `\'`, `\"`, `\n`, `\t`, `\r` as escapes. A backslash before
/// any other character is kept, so regexes like `'\d+'` need no doubling.
public struct FilterExpression: Sendable, CustomStringConvertible {
    let root: FilterNode
    /// What ``FilterVocabulary`` checks against the stores: extras by name, closed-set values.
    let mentions: FilterMentions

    init(_ root: FilterNode, mentions: FilterMentions = FilterMentions()) {
        self.root = root
        self.mentions = mentions
    }

    /// Parses `text`; regexes and globs are compiled here, once.
    public init(parsing text: String) throws(FilterSyntaxError) {
        var parser = FilterParser(text)
        root = try parser.parse()
        mentions = parser.mentions
    }

    /// The filter that every event passes.
    public static let everything = FilterExpression(.everything)

    /// Events passing all `parts` (``everything`` when `parts` is empty).
    public static func and(_ parts: [FilterExpression]) -> FilterExpression {
        FilterExpression(.conjunction(parts.map(\.root)),
                         mentions: parts.reduce(into: FilterMentions()) { $0.append($1.mentions) })
    }

    /// `TimeNs >= since and TimeNs < until`: the window of `--since` (inclusive) and `--until`
    /// (exclusive), in unix ns; nil leaves that side open.
    public static func timeRange(since: Int64?, until: Int64?) -> FilterExpression {
        var parts = [FilterNode]()
        if let since { parts.append(.compare(.timeNs, .greaterOrEqual, .integer(since))) }
        if let until { parts.append(.compare(.timeNs, .less, .integer(until))) }
        return FilterExpression(.conjunction(parts))
    }

    /// The expression in the filter language (normalised: quoted values, minimal parentheses);
    /// parsing it gives the same filter. ``everything`` reads `everything`, which is not an expression.
    public var description: String { root.description }
}
