using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using NUnit.Framework;
using Sessions.Conformance;
using Sessions.Core.Tests.Support;
using Sessions.Diagnostics;
using Sessions.Engine;
using Sessions.Memory;

namespace Sessions.Core.Tests.AspNetCore;

// The "Sessions" meter as a MeterListener (OpenTelemetry, dotnet-counters) sees it. Each test names its backend uniquely
// and only counts measurements with that name, so tests running at the same time do not mix.
public sealed class SessionMetricsTests
{
    [Test]
    public async Task Requests_record_loads_and_saves_tagged_with_the_backend()
    {
        var backend = $"metrics-{Guid.NewGuid():N}";
        using var meter = new Recorder(backend);
        await using var app = await StartAsync(b => b.UseBackend(backend, _ => new MemorySessionBackend()));
        var client = app.GetTestClient();

        var first = await client.GetAsync(new Uri("/hit", UriKind.Relative));
        var cookie = first.Headers.GetValues("Set-Cookie").Single().Split(';')[0];
        using (var second = new HttpRequestMessage(HttpMethod.Get, "/hit"))
        {
            second.Headers.Add("Cookie", cookie);
            (await client.SendAsync(second)).Dispose();
        }

        first.Dispose();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(meter.Sum("sessions.saves"), Is.EqualTo(2), "a create and an update");
            Assert.That(meter.Sum("sessions.loads", ("sessions.result", "hit")), Is.EqualTo(1), "the second request loaded the session");
            Assert.That(meter.Count("sessions.backend.duration", ("sessions.operation", "get")), Is.EqualTo(1), "backend latency, by operation");
            Assert.That(meter.Count("sessions.backend.duration", ("sessions.operation", "set")), Is.EqualTo(2));
        }
    }

    [Test]
    public async Task The_engine_records_misses_touches_deletes_and_errors()
    {
        var backendName = $"metrics-{Guid.NewGuid():N}";
        using var meter = new Recorder(backendName);
        var clock = FakeTimeProviders.StartingNow();
        var backend = new CountingBackend(new MemorySessionBackend(timeProvider: clock));
        var store = new SessionStore(backend, new SessionOptions(), backendName, timeProvider: clock);
        var session = store.CreateNew();
        session.Set("k", [1]);
        await store.CommitAsync(session, CancellationToken.None);

        await store.LoadAsync(new Sessions.Ids.SessionIdGenerator().CreateId(), CancellationToken.None);
        clock.Advance(TimeSpan.FromMinutes(5));
        var loaded = (await store.LoadAsync(session.Id, CancellationToken.None))!;
        await store.CommitAsync(loaded, CancellationToken.None);
        Assert.That(await store.DeleteAsync(session.Id, CancellationToken.None), Is.True);
        backend.FailWith = new IOException("down");
        Assert.That(async () => await store.LoadAsync(session.Id, CancellationToken.None), Throws.InstanceOf<SessionBackendException>());

        using (Assert.EnterMultipleScope())
        {
            Assert.That(meter.Sum("sessions.loads", ("sessions.result", "miss")), Is.EqualTo(1));
            Assert.That(meter.Sum("sessions.loads", ("sessions.result", "hit")), Is.EqualTo(1));
            Assert.That(meter.Sum("sessions.touches"), Is.EqualTo(1), "an unmodified session touched after TouchAfter");
            Assert.That(meter.Sum("sessions.deletes"), Is.EqualTo(1));
            Assert.That(meter.Sum("sessions.backend.errors", ("sessions.operation", "get")), Is.EqualTo(1));
        }
    }

    private static async Task<WebApplication> StartAsync(Action<ISessionsBuilder> backend)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        backend(builder.Services.AddSessions());
        var app = builder.Build();
        app.UseSessions();
        app.MapGet("/hit", (HttpContext ctx) =>
        {
            var n = (ctx.Session.GetInt32("n") ?? 0) + 1;
            ctx.Session.SetInt32("n", n);
            return n;
        });
        await app.StartAsync();
        return app;
    }

    /// <summary>Records the "Sessions" meter's measurements that carry sessions.backend = the given name.</summary>
    private sealed class Recorder : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly ConcurrentQueue<(string Instrument, double Value, Dictionary<string, object?> Tags)> _measurements = new();
        private readonly string _backend;

        public Recorder(string backend)
        {
            _backend = backend;
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == SessionsTelemetry.MeterName)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument, value, tags));
            _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Record(instrument, value, tags));
            _listener.Start();
        }

        public double Sum(string instrument, params (string Key, string Value)[] tags) => Matching(instrument, tags).Sum(m => m.Value);

        public int Count(string instrument, params (string Key, string Value)[] tags) => Matching(instrument, tags).Count();

        public void Dispose() => _listener.Dispose();

        private IEnumerable<(string Instrument, double Value, Dictionary<string, object?> Tags)> Matching(string instrument, (string Key, string Value)[] tags) =>
            _measurements.Where(m => m.Instrument == instrument && tags.All(t => Equals(m.Tags.GetValueOrDefault(t.Key), t.Value)));

        private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var copy = new Dictionary<string, object?>(StringComparer.Ordinal);
            foreach (var tag in tags)
            {
                copy[tag.Key] = tag.Value;
            }

            if (Equals(copy.GetValueOrDefault("sessions.backend"), _backend))
            {
                _measurements.Enqueue((instrument.Name, value, copy));
            }
        }
    }
}
