using System.Diagnostics;

namespace Fleet.EndToEnd.Tests.Cluster;

/// <summary>
/// MeshLoad is a bounded request loop through the routing mesh of one or more node addresses
/// (one loop per address, a request every few tens of milliseconds, each bounded by a timeout),
/// for tests that claim "no failed request meanwhile". It stops by itself after
/// <c>limit</c>, or when <see cref="Stop"/> is called, and reports per address.
/// </summary>
public sealed class MeshLoad : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Dictionary<string, Tally> _tallies = [];
    private readonly List<Task> _loops = [];

    /// <summary>Tally is what one address answered: how many requests, and when and why the others failed.</summary>
    public sealed class Tally
    {
        internal int AnsweredCount;

        /// <summary>Answered counts the requests answered with the hello page.</summary>
        public int Answered => AnsweredCount;

        /// <summary>Failures says when (seconds since the start) each failed request was sent.</summary>
        public List<string> Failures { get; } = [];
    }

    /// <summary>Start begins one loop per address against <paramref name="port"/>.</summary>
    public MeshLoad(IEnumerable<string> addresses, int port, TimeSpan limit, TimeSpan? requestTimeout = null)
    {
        var timeout = requestTimeout ?? TimeSpan.FromSeconds(5);
        var clock = Stopwatch.StartNew();
        foreach (var address in addresses)
        {
            var tally = new Tally();
            _tallies[address] = tally;
            _loops.Add(Task.Run(() =>
            {
                while (!_stop.IsCancellationRequested && clock.Elapsed < limit)
                {
                    var sent = clock.Elapsed;
                    if (HelloWeb.Get(address, port, timeout) is { } body && body.StartsWith("hello from ", StringComparison.Ordinal))
                    {
                        Interlocked.Increment(ref tally.AnsweredCount);
                    }
                    else
                    {
                        lock (tally.Failures)
                        {
                            tally.Failures.Add($"{sent.TotalSeconds:0.0}s");
                        }
                    }
                    Thread.Sleep(50);
                }
            }));
        }
    }

    /// <summary>
    /// WaitAnswered blocks until every address has answered <paramref name="more"/> requests more
    /// than when it was called (at most <paramref name="timeout"/>), so a test whose operation
    /// ends quickly still sees the mesh serving after it, and a load that never got going shows.
    /// </summary>
    public void WaitAnswered(int more, TimeSpan timeout)
    {
        var targets = _tallies.ToDictionary(t => t.Key, t => t.Value.Answered + more);
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout && _tallies.Any(t => t.Value.Answered < targets[t.Key]) && _loops.Any(l => !l.IsCompleted))
        {
            Thread.Sleep(50);
        }
    }

    /// <summary>
    /// StopAndAssertNoFailure ends the loops and fails the test when any request failed, or when
    /// an address answered fewer than <paramref name="minimum"/> (the load did not really run).
    /// </summary>
    public void StopAndAssertNoFailure(string during, int minimum = 10, Func<string>? context = null)
    {
        var tallies = Stop();
        Assert.True(tallies.Values.All(t => t.Failures.Count == 0), $"requests failed during {during}: {Describe(tallies)}\n{context?.Invoke()}");
        Assert.True(tallies.Values.All(t => t.Answered >= minimum), $"fewer than {minimum} requests answered per address during {during}: {Describe(tallies)}");
    }

    /// <summary>Stop ends the loops and returns each address's tally.</summary>
    public IReadOnlyDictionary<string, Tally> Stop()
    {
        _stop.Cancel();
        Task.WaitAll([.. _loops], TimeSpan.FromSeconds(30));
        return _tallies;
    }

    /// <summary>Describe says per address how many requests were answered and when the others failed.</summary>
    public static string Describe(IReadOnlyDictionary<string, Tally> tallies) =>
        string.Join("; ", tallies.Select(t => $"{t.Key}: {t.Value.Answered} answered, {t.Value.Failures.Count} failed{(t.Value.Failures.Count > 0 ? " at " + string.Join(", ", t.Value.Failures.Take(20)) : "")}"));

    /// <inheritdoc/>
    public void Dispose()
    {
        _stop.Cancel();
        try
        {
            Task.WaitAll([.. _loops], TimeSpan.FromSeconds(30));
        }
        catch (AggregateException)
        {
            // A loop's own failure is reported through its tally; disposal only stops them.
        }
        _stop.Dispose();
    }
}
