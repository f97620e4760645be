using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using Sessions;

namespace QuickStart;

/// <summary>Renders GET / as one server-side HTML string; every value that came from a user is HTML-encoded.</summary>
internal static class HomePage
{
    private const string Style = """
        body { font: 16px/1.5 system-ui, sans-serif; max-width: 52rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
        h1 { font-size: 1.6rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
        .counter { font-size: 2.5rem; font-weight: 600; margin-right: 1rem; }
        form { display: inline; } input[type=text] { padding: .3rem .5rem; }
        button { padding: .3rem .8rem; cursor: pointer; }
        table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid #ddd; }
        .current { background: #eef6ff; } .tag { font-size: .8rem; color: #05c; margin-left: .4rem; }
        .muted { color: #666; } code { background: #f3f3f3; padding: 0 .25rem; }
        """;

    // Counts with GET /hit and shows the new value (without JavaScript, a link shows /hit's plain-text answer).
    private const string Script = """
        document.getElementById('hit').addEventListener('click', async () => {
          const r = await fetch('/hit', { credentials: 'same-origin' });
          document.getElementById('n').textContent = await r.text();
        });
        """;

    public static string Render(int n, string? user, IReadOnlyList<SessionInfo> sessions, string? currentHandle)
    {
        var html = new StringBuilder(4096);
        html.Append(CultureInfo.InvariantCulture, $"""
            <!doctype html>
            <html lang="en">
            <head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>Sessions QuickStart</title><style>{Style}</style></head>
            <body>
            <h1>Sessions QuickStart</h1>
            <p class="muted">Server-side sessions: the cookie holds only an opaque ID; the data lives in the backend.</p>
            <h2>Counter</h2>
            <p><span id="n" class="counter">{n}</span><button type="button" id="hit">Count</button>
            <noscript><a href="/hit">GET /hit</a></noscript></p>

            """);

        if (user is null)
        {
            html.Append("""
                <h2>Sign in</h2>
                <form method="post" action="/login">
                  <input type="text" name="user" placeholder="any user name" required autocomplete="username">
                  <button type="submit" id="login">Sign in</button>
                </form>
                <p class="muted">Signing in keeps the counter and gives the session a new ID.</p>
                """);
        }
        else
        {
            html.Append(CultureInfo.InvariantCulture, $"""
                <h2>Signed in as <span id="user">{Encode(user)}</span></h2>
                <form method="post" action="/logout"><button type="submit" id="logout">Sign out</button></form>
                <h2>Your active sessions</h2>
                <table id="sessions">
                <thead><tr><th>Created</th><th>Last seen</th><th>Browser</th><th></th></tr></thead>
                <tbody>
                """);
            foreach (var s in sessions)
            {
                var isCurrent = s.Handle == currentHandle;
                html.Append(CultureInfo.InvariantCulture, $"""
                    <tr{(isCurrent ? " class=\"current\"" : "")} data-handle="{Encode(s.Handle)}">
                    <td>{Time(s.CreatedAt)}</td><td>{Time(s.LastSeenAt)}</td>
                    <td>{Encode(s.ClientDescription ?? "unknown")}{(isCurrent ? "<span class=\"tag\">this session</span>" : "")}</td>
                    <td><form method="post" action="/revoke"><input type="hidden" name="handle" value="{Encode(s.Handle)}"><button type="submit">Revoke</button></form></td>
                    </tr>

                    """);
            }

            html.Append("</tbody></table>\n");
        }

        html.Append(CultureInfo.InvariantCulture, $"""
            <p class="muted">Endpoints: <code>GET /hit</code>, <code>GET /read</code>, <code>GET /plain</code>, <code>POST /login</code>, <code>POST /logout</code>, <code>POST /revoke</code>.</p>
            <script>{Script}</script>
            </body>
            </html>

            """);
        return html.ToString();
    }

    private static string Encode(string value) => HtmlEncoder.Default.Encode(value);

    private static string Time(DateTimeOffset value) => value.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture);
}
