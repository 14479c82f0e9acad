using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using Fleet.Images.Store;
using Fleet.Registry.Storage;
using Microsoft.Extensions.Logging;

namespace Fleet.Registry.Uploads;

/// <summary>
/// UploadSessions holds the open upload sessions: at most <see cref="RegistryOptions.MaxOpenUploads"/>
/// at once, each dropped (with its partial bytes) once it has seen no request for
/// <see cref="RegistryOptions.UploadTimeout"/> by the injected clock. Sessions are recorded under
/// ROOT/registry/uploads/&lt;id&gt; so a restarted registry resumes them.
/// </summary>
public sealed partial class UploadSessions : IDisposable
{
    private readonly ContentStore _store;
    private readonly RegistryOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string _directory;
    private readonly ConcurrentDictionary<string, UploadSession> _sessions = new(StringComparer.Ordinal);
    private readonly ITimer? _sweeper;
    private readonly Lock _startLock = new();

    internal UploadSessions(ContentStore store, string registryRoot, RegistryOptions options, TimeProvider time, ILogger logger)
    {
        _store = store;
        _options = options;
        _time = time;
        _logger = logger;
        _directory = Path.Combine(registryRoot, "uploads");
        Directory.CreateDirectory(_directory);
        Load();
        if (options.SweepInterval > TimeSpan.Zero)
        {
            _sweeper = time.CreateTimer(_ => Sweep(), null, options.SweepInterval, options.SweepInterval);
        }
    }

    /// <summary>Count is the number of open sessions.</summary>
    public int Count => _sessions.Count;

    /// <summary>Start opens a session in <paramref name="repository"/>, or refuses with 429 when too many are open.</summary>
    public UploadSession Start(string repository)
    {
        lock (_startLock)
        {
            if (_sessions.Count >= _options.MaxOpenUploads)
            {
                Sweep();
            }
            if (_sessions.Count >= _options.MaxOpenUploads)
            {
                throw new RegistryException(HttpStatusCode.TooManyRequests, ErrorCode.TooManyRequests,
                    $"too many open upload sessions ({_sessions.Count}, the limit is {_options.MaxOpenUploads}); finish or cancel one, or retry later")
                {
                    Headers = new Dictionary<string, string> { ["Retry-After"] = "1" },
                };
            }
            var session = new UploadSession(_store, Guid.NewGuid().ToString("N"), repository, _time.GetUtcNow());
            AtomicFile.Write(Path.Combine(_directory, session.Id), Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new PersistedSession(repository))));
            _sessions[session.Id] = session;
            return session;
        }
    }

    /// <summary>
    /// AcquireAsync takes the session for one request; disposing the lease marks activity and
    /// lets the next request in. Unknown, expired or other-repository sessions are BLOB_UPLOAD_UNKNOWN.
    /// </summary>
    public async Task<Lease> AcquireAsync(string repository, string id, CancellationToken cancellationToken)
    {
        if (!_sessions.TryGetValue(id, out var session) || session.Repository != repository)
        {
            throw Unknown(repository, id);
        }
        await session.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        if (session.Closed || IsExpired(session))
        {
            session.Gate.Release();
            if (!session.Closed)
            {
                Remove(session);
            }
            throw Unknown(repository, id);
        }
        return new Lease(this, session);
    }

    /// <summary>Sweep drops every session idle for longer than the upload timeout; it returns how many.</summary>
    public int Sweep()
    {
        var dropped = 0;
        foreach (var session in _sessions.Values)
        {
            // A session in use is not idle; skip it rather than wait.
            if (!IsExpired(session) || !session.Gate.Wait(0))
            {
                continue;
            }
            try
            {
                if (!session.Closed && IsExpired(session))
                {
                    LogExpired(_logger, session.Id, session.Repository, session.LastActivity);
                    Remove(session);
                    dropped++;
                }
            }
            finally
            {
                session.Gate.Release();
            }
        }
        return dropped;
    }

    /// <summary>Dispose stops the sweeper and closes every session's ingest, keeping the bytes for a later resume.</summary>
    public void Dispose()
    {
        _sweeper?.Dispose();
        foreach (var session in _sessions.Values)
        {
            session.Gate.Wait();
            try
            {
                session.ReleaseAsync().GetAwaiter().GetResult();
            }
            finally
            {
                session.Gate.Release();
            }
        }
    }

    private bool IsExpired(UploadSession session) => _time.GetUtcNow() - session.LastActivity > _options.UploadTimeout;

    /// <summary>Remove closes a session whose gate the caller holds, discarding what it did not commit.</summary>
    internal void Remove(UploadSession session)
    {
        session.Closed = true;
        _sessions.TryRemove(session.Id, out _);
        try
        {
            session.Discard();
        }
        finally
        {
            AtomicFile.Delete(Path.Combine(_directory, session.Id));
        }
    }

    private static RegistryException Unknown(string repository, string id) =>
        RegistryException.NotFound(ErrorCode.BlobUploadUnknown, $"upload {id} is unknown in {repository} (never started, finished, cancelled or expired)", new { uuid = id });

    private void Load()
    {
        foreach (var path in Directory.EnumerateFiles(_directory))
        {
            var id = Path.GetFileName(path);
            if (id.StartsWith(".tmp-", StringComparison.Ordinal))
            {
                File.Delete(path);
                continue;
            }
            try
            {
                var persisted = JsonSerializer.Deserialize<PersistedSession>(File.ReadAllBytes(path));
                if (persisted is not null && RepositoryName.IsValid(persisted.Repository))
                {
                    _sessions[id] = new UploadSession(_store, id, persisted.Repository, _time.GetUtcNow());
                    continue;
                }
            }
            catch (JsonException)
            {
            }
            File.Delete(path);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "upload {Id} in {Repository} expired (idle since {LastActivity})")]
    private static partial void LogExpired(ILogger logger, string id, string repository, DateTimeOffset lastActivity);

    private sealed record PersistedSession(string Repository);

    /// <summary>Lease is one request's hold on a session.</summary>
    public sealed class Lease : IDisposable
    {
        private readonly UploadSessions _owner;
        private bool _released;

        internal Lease(UploadSessions owner, UploadSession session)
        {
            _owner = owner;
            Session = session;
        }

        public UploadSession Session { get; }

        /// <summary>Close ends the session (after a commit or a cancel), discarding uncommitted bytes.</summary>
        public void Close() => _owner.Remove(Session);

        public void Dispose()
        {
            if (_released)
            {
                return;
            }
            _released = true;
            Session.LastActivity = _owner._time.GetUtcNow();
            Session.Gate.Release();
        }
    }
}
