using SQLitePCL;

namespace Fleet.Cluster.Persistence;

/// <summary>
/// SqliteDatabase is one connection to the journal's file over SQLitePCL.raw, the native
/// binding Microsoft.Data.Sqlite itself sits on. The journal needs a handful of statements, not
/// ADO.NET: Microsoft.Data.Sqlite brought System.Data.Common and System.ComponentModel's type
/// converters into every fleetd (≈ 2.5 MB of its idle RSS) for them.
/// </summary>
/// <remarks>
/// A connection is opened per operation (a file open and a read of the schema, well under a
/// millisecond), as the journal did with pooled ADO.NET connections; one waits up to 30 s for a
/// lock another holds (Microsoft.Data.Sqlite's default command timeout).
/// </remarks>
internal sealed class SqliteDatabase : IDisposable
{
    private static readonly Lazy<bool> Initialized = new(() =>
    {
        Batteries_V2.Init();
        return true;
    });

    private readonly sqlite3 _db;
    private readonly string _path;

    private SqliteDatabase(sqlite3 db, string path)
    {
        _db = db;
        _path = path;
    }

    /// <summary>Open opens (and creates when missing) the database at <paramref name="path"/>.</summary>
    public static SqliteDatabase Open(string path)
    {
        _ = Initialized.Value;
        var rc = raw.sqlite3_open_v2(path, out var db, raw.SQLITE_OPEN_READWRITE | raw.SQLITE_OPEN_CREATE | raw.SQLITE_OPEN_FULLMUTEX, null);
        if (rc != raw.SQLITE_OK)
        {
            var message = db is null ? raw.sqlite3_errstr(rc).utf8_to_string() : raw.sqlite3_errmsg(db).utf8_to_string();
            db?.Dispose();
            throw new JournalFileException($"cannot open {path}: {message}", rc);
        }
        var database = new SqliteDatabase(db, path);
        database.Check(raw.sqlite3_busy_timeout(db, 30_000), "busy timeout");
        return database;
    }

    /// <summary>Execute runs <paramref name="sql"/> (one or more statements, no parameters).</summary>
    public void Execute(string sql) => Check(raw.sqlite3_exec(_db, sql), sql);

    /// <summary>Prepare compiles one statement.</summary>
    public Statement Prepare(string sql)
    {
        Check(raw.sqlite3_prepare_v2(_db, sql, out var statement), sql);
        return new Statement(this, statement, sql);
    }

    /// <summary>InTransaction runs <paramref name="work"/> in one immediate transaction: all of it is kept, or none.</summary>
    public void InTransaction(Action work)
    {
        ArgumentNullException.ThrowIfNull(work);
        Execute("BEGIN IMMEDIATE");
        try
        {
            work();
            Execute("COMMIT");
        }
        catch
        {
            // A failed COMMIT may already have ended the transaction; ROLLBACK then has nothing to do.
            _ = raw.sqlite3_exec(_db, "ROLLBACK");
            throw;
        }
    }

    /// <summary>LastInsertRowId is the rowid of the last row this connection inserted.</summary>
    public long LastInsertRowId => raw.sqlite3_last_insert_rowid(_db);

    public void Dispose() => _db.Dispose();

    private void Check(int rc, string sql)
    {
        if (rc != raw.SQLITE_OK)
        {
            throw Failure(rc, sql);
        }
    }

    private JournalFileException Failure(int rc, string sql) =>
        new($"{_path}: {raw.sqlite3_errmsg(_db).utf8_to_string()} (in `{FirstLine(sql)}`)", rc);

    private static string FirstLine(string sql) => sql.Trim().Split('\n')[0].Trim();

    /// <summary>Statement is one compiled statement: bind by name, step through rows, read columns.</summary>
    public sealed class Statement : IDisposable
    {
        private readonly SqliteDatabase _database;
        private readonly sqlite3_stmt _statement;
        private readonly string _sql;

        internal Statement(SqliteDatabase database, sqlite3_stmt statement, string sql)
        {
            _database = database;
            _statement = statement;
            _sql = sql;
        }

        /// <summary>Bind sets the parameter <paramref name="name"/> (with its <c>$</c>) for the next run.</summary>
        public Statement Bind(string name, long value) => Checked(raw.sqlite3_bind_int64(_statement, Index(name), value));

        /// <inheritdoc cref="Bind(string, long)"/>
        public Statement Bind(string name, string? value) =>
            Checked(value is null ? raw.sqlite3_bind_null(_statement, Index(name)) : raw.sqlite3_bind_text(_statement, Index(name), value));

        /// <inheritdoc cref="Bind(string, long)"/>
        public Statement Bind(string name, byte[] value)
        {
            ArgumentNullException.ThrowIfNull(value);
            // An empty blob is a blob, not NULL (the journal's message column is NOT NULL).
            return Checked(value.Length == 0
                ? raw.sqlite3_bind_zeroblob(_statement, Index(name), 0)
                : raw.sqlite3_bind_blob(_statement, Index(name), value));
        }

        /// <summary>Step runs the statement to its next row: true with a row to read, false when done.</summary>
        public bool Step()
        {
            var rc = raw.sqlite3_step(_statement);
            return rc switch
            {
                raw.SQLITE_ROW => true,
                raw.SQLITE_DONE => false,
                _ => throw _database.Failure(rc, _sql),
            };
        }

        /// <summary>Run steps the statement to its end (a statement without rows).</summary>
        public void Run()
        {
            while (Step())
            {
            }
            Reset();
        }

        /// <summary>Reset makes the statement ready to run again (its bindings stay until rebound).</summary>
        public void Reset() => raw.sqlite3_reset(_statement);

        public bool IsNull(int column) => raw.sqlite3_column_type(_statement, column) == raw.SQLITE_NULL;

        public long Int64(int column) => raw.sqlite3_column_int64(_statement, column);

        public int Int32(int column) => raw.sqlite3_column_int(_statement, column);

        public string Text(int column) => raw.sqlite3_column_text(_statement, column).utf8_to_string();

        public byte[] Blob(int column) => raw.sqlite3_column_blob(_statement, column).ToArray();

        public void Dispose() => _statement.Dispose();

        private int Index(string name)
        {
            var index = raw.sqlite3_bind_parameter_index(_statement, name);
            return index > 0 ? index : throw new ArgumentException($"`{FirstLine(_sql)}` has no parameter {name}", nameof(name));
        }

        private Statement Checked(int rc)
        {
            _database.Check(rc, _sql);
            return this;
        }
    }
}

/// <summary>JournalFileException is an error SQLite reported, with its result code.</summary>
public sealed class JournalFileException(string message, int resultCode) : Exception(message)
{
    /// <summary>ResultCode is SQLite's (extended) result code.</summary>
    public int ResultCode { get; } = resultCode;
}
