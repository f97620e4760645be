using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using NUnit.Framework;
using Sessions.Backends;

namespace Sessions.EFCore.Tests;

/// <summary>AddEFCoreBackend() with no database delegate: Sessions:EFCore:Provider and :ConnectionString choose the database.</summary>
public sealed class ConfigurationTests
{
    [Test]
    public async Task Provider_and_connection_string_from_configuration_choose_the_database()
    {
        var connectionString = Databases.NewSqliteFile();
        using var host = Host(
            ("Sessions:EFCore:Provider", "sqlite"),
            ("Sessions:EFCore:ConnectionString", connectionString),
            ("Sessions:EFCore:TableName", "configured_sessions"));
        await host.StartAsync();
        Assert.That(await host.Services.EnsureSessionsTableAsync(), Is.True, "the table is created in the configured SQLite file");

        var backend = host.Services.GetRequiredService<ISessionBackend>();
        var record = new SessionRecord(new byte[] { 1, 2, 3 }, DateTimeOffset.UtcNow.AddHours(1), 4);
        Assert.That(await backend.SetAsync("cfg:1", record, SetCondition.Always, CancellationToken.None), Is.True);

        Assert.That((await backend.GetAsync("cfg:1", CancellationToken.None))?.Version, Is.EqualTo(4));
        await host.StopAsync();
    }

    [Test]
    public void Without_a_provider_start_up_fails_saying_what_to_set()
    {
        using var host = Host(("Sessions:EFCore:ConnectionString", "Data Source=x.db"));

        var ex = Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.That(ex!.Message, Does.Contain("Sessions:EFCore:Provider must name the database: Sqlite, PostgreSQL, MySql (also MariaDB) or SqlServer"));
    }

    [Test]
    public void Without_a_connection_string_start_up_fails_saying_what_to_set()
    {
        using var host = Host(("Sessions:EFCore:Provider", "PostgreSQL"));

        var ex = Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.That(ex!.Message, Does.Contain("Sessions:EFCore:ConnectionString must be set"));
    }

    [Test]
    public void A_provider_whose_package_the_app_does_not_reference_stops_start_up_naming_the_package()
    {
        // This project is on EF Core 10 and references no MySQL provider.
        using var host = Host(("Sessions:EFCore:Provider", "MySql"), ("Sessions:EFCore:ConnectionString", "Server=127.0.0.1;Port=1;User=root"));

        var ex = Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.That(ex!.Message, Does.Contain("dotnet add package Pomelo.EntityFrameworkCore.MySql"));
    }

    [Test]
    public void A_referenced_provider_is_found_by_name_from_configuration()
    {
        // SQL Server's provider is referenced here (no server is needed to build the backend; it connects on first use).
        using var host = Host(("Sessions:EFCore:Provider", "sqlserver"), ("Sessions:EFCore:ConnectionString", "Server=127.0.0.1,1;Database=x;User Id=sa;Password=x"));

        var backend = host.Services.GetRequiredService<ISessionBackend>();

        Assert.That(backend, Is.InstanceOf<EFCoreSessionBackend>());
    }

    [Test]
    public void A_malformed_connection_string_stops_start_up_saying_so()
    {
        using var host = Host(("Sessions:EFCore:Provider", "Sqlite"), ("Sessions:EFCore:ConnectionString", "Data Source"));

        var ex = Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.That(ex!.Message, Does.Contain("Sessions:EFCore:ConnectionString is not a connection string"));
    }

    [Test]
    public async Task An_unselected_efcore_backend_with_no_settings_does_not_stop_the_app()
    {
        using var host = Host(("Sessions:Backend", "memory"));

        await host.StartAsync();
        await host.StopAsync();
    }

    private static IHost Host(params (string Key, string Value)[] values)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value)))
            .Build();
        var builder = new HostApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        var sessions = builder.Services.AddSessions(configuration.GetSection("Sessions")).AddEFCoreBackend();
        if (values.Any(v => v.Key == "Sessions:Backend"))
        {
            sessions.AddMemoryBackend();
        }

        return builder.Build();
    }
}
