using System.Net;
using System.Net.Http.Headers;
using System.Text;
using NUnit.Framework;
using Sessions.QuickStart.BrowserTests.Support;

// Outside the browser tests' namespace, so that their set-up fixture (Chromium) does not apply: these are plain HTTP.
namespace Sessions.QuickStart.FormTests;

/// <summary>POST /login with a form the app cannot read answers 400 with the reason, never 500 (issue 14, fault 8).</summary>
[TestFixture]
public sealed class LoginFormTests
{
    private SampleApp? _app;
    private HttpClient? _http;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _app = await SampleApp.StartAsync();
        _http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = _app.BaseUrl, Timeout = TimeSpan.FromSeconds(60) };
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        _http?.Dispose();
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }

    [Test]
    public async Task A_body_that_is_not_a_form_answers_400()
    {
        using var content = new ByteArrayContent(Encoding.UTF8.GetBytes("user=alice"));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");

        await AssertBadRequestAsync(content, "form");
    }

    [Test]
    public async Task Multipart_without_a_boundary_answers_400()
    {
        using var content = new ByteArrayContent(Encoding.UTF8.GetBytes("--x\r\nContent-Disposition: form-data; name=\"user\"\r\n\r\nalice\r\n--x--\r\n"));
        content.Headers.TryAddWithoutValidation("Content-Type", "multipart/form-data");

        await AssertBadRequestAsync(content, "boundary");
    }

    [Test]
    public async Task Too_many_fields_answer_400()
    {
        var body = "user=alice&" + string.Join("&", Enumerable.Range(0, 150_000).Select(i => $"f{i}=1"));
        using var content = new StringContent(body, Encoding.ASCII, "application/x-www-form-urlencoded");

        await AssertBadRequestAsync(content, "limit");
    }

    [Test]
    public async Task A_user_name_with_a_nul_answers_400()
    {
        using var content = new StringContent("user=%00", Encoding.ASCII, "application/x-www-form-urlencoded");

        await AssertBadRequestAsync(content, "characters");
    }

    [Test]
    public async Task A_user_name_with_a_control_character_answers_400()
    {
        using var content = new StringContent("user=a%01b", Encoding.ASCII, "application/x-www-form-urlencoded");

        await AssertBadRequestAsync(content, "characters");
    }

    [Test]
    public async Task A_good_form_still_signs_in()
    {
        using var content = new StringContent("user=alice", Encoding.ASCII, "application/x-www-form-urlencoded");
        using var response = await _http!.PostAsync(new Uri("login", UriKind.Relative), content);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.SeeOther), $"{await response.Content.ReadAsStringAsync()}\n{_app!.Output}");
    }

    private async Task AssertBadRequestAsync(HttpContent content, string reason)
    {
        using var response = await _http!.PostAsync(new Uri("login", UriKind.Relative), content);
        var body = await response.Content.ReadAsStringAsync();

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), $"body \"{body}\"; app output:\n{_app!.Output}");
        Assert.That(body, Does.Contain(reason).IgnoreCase, "the 400 says why");
    }
}
