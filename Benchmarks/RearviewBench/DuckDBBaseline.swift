// DuckDB (PyPI `duckdb`, installed by `make bench`) as the baseline a data-minded user would choose
// (issue 14): the same NDJSON loaded into a table of a persistent database in the work directory, then
// the same questions asked in SQL. Each set of statements runs in one Python process and is timed in
// it (best of its runs), so DuckDB's start-up is not counted; rearview is timed as a whole process.
import Foundation

struct DuckDB {
    /// One DuckDB statement to time: its name in the output, its SQL, and how many runs to take the best of.
    struct Statement: Encodable {
        let name: String
        let sql: String
        let runs: Int
    }

    let database: String

    /// Connects to the database (argv[1]), runs each statement of the JSON list (argv[2]) `runs` times,
    /// fetching every result row, and prints `name<TAB>best seconds` per statement.
    private static let script = """
        import duckdb, json, sys, time
        con = duckdb.connect(sys.argv[1])
        con.execute("SET enable_progress_bar = false")
        for s in json.loads(sys.argv[2]):
            best = float("inf")
            for _ in range(s["runs"]):
                started = time.perf_counter()
                con.execute(s["sql"]).fetchall()
                best = min(best, time.perf_counter() - started)
            print(s["name"], best, sep="\\t", flush=True)
        """

    static var isInstalled: Bool {
        run(["python3", "-c", "import duckdb"]) != nil
    }

    /// Imports `ndjson` into table `ev` of a new database file; returns the database and the import's time.
    /// The settings are DuckDB's auto-detection with the file declared newline-delimited.
    static func load(_ ndjson: String, into database: String) -> (duckDB: DuckDB, seconds: Double) {
        try? FileManager.default.removeItem(atPath: database)
        try? FileManager.default.removeItem(atPath: database + ".wal")
        let duckDB = DuckDB(database: database)
        let sql = "CREATE TABLE ev AS SELECT * FROM read_json_auto('\(ndjson)', format = 'newline_delimited')"
        let seconds = duckDB.best([Statement(name: "import", sql: sql, runs: 1)])["import"]!
        return (duckDB, seconds)
    }

    /// The best time of each statement, by name; fails loudly if DuckDB does.
    func best(_ statements: [Statement]) -> [String: Double] {
        let json = String(decoding: try! JSONEncoder().encode(statements), as: UTF8.self)
        guard let output = Self.run(["python3", "-c", Self.script, database, json]) else {
            fatalError("DuckDB failed on \(database): \(statements.map(\.sql))")
        }
        var seconds: [String: Double] = [:]
        for line in output.split(separator: "\n") {
            let fields = line.split(separator: "\t")
            if fields.count == 2, let value = Double(fields[1]) { seconds[String(fields[0])] = value }
        }
        return seconds
    }

    /// Runs a program found on PATH with these arguments (no shell); its standard output, or nil on failure.
    private static func run(_ arguments: [String]) -> String? {
        let p = Process()
        let pipe = Pipe()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = arguments
        p.standardOutput = pipe
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return p.terminationStatus == 0 ? String(decoding: data, as: UTF8.self) : nil
    }
}
