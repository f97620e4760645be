using Microsoft.AspNetCore.SignalR;
using Sessions.AspNetCore;

namespace BlazorApp;

/// <summary>The counter over SignalR: the session is the one whose cookie the client sent when it connected.</summary>
public sealed class CounterHub(IServerSessionAccessor sessions) : Hub
{
    public Task<int> Increment() => SessionCounter.IncrementAsync(sessions, Context.ConnectionAborted);

    public async Task<int> Read() => (await sessions.LoadAsync(Context.ConnectionAborted)).GetInt32(SessionCounter.Key) ?? 0;

    public async Task<string?> User() => (await sessions.LoadAsync(Context.ConnectionAborted)).UserId;
}
