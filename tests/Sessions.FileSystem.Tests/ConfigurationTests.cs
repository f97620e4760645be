using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using NUnit.Framework;
using Sessions.Backends;
using Sessions.FileSystem.Tests.Support;

namespace Sessions.FileSystem.Tests;

/// <summary>AddFileSystemBackend binds Sessions:FileSystem from the section given to AddSessions; code runs after it.</summary>
public sealed class ConfigurationTests
{
    [Test]
    public void Sessions_FileSystem_binds_without_code_and_a_delegate_runs_after()
    {
        using var directory = new TestDirectory(nameof(ConfigurationTests));
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Sessions:FileSystem:Directory"] = directory.Path,
            ["Sessions:FileSystem:LockTimeout"] = "00:00:07",
        }).Build();
        var services = new ServiceCollection();
        services.AddSessions(configuration.GetSection("Sessions")).AddFileSystemBackend(o => o.LockTimeout += TimeSpan.FromSeconds(1));
        using var provider = services.BuildServiceProvider();

        var options = provider.GetRequiredService<IOptions<FileSystemSessionBackendOptions>>().Value;
        var backend = (FileSystemSessionBackend)provider.GetRequiredService<ISessionBackend>();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(options.LockTimeout, Is.EqualTo(TimeSpan.FromSeconds(8)), "bound 7 s, then the delegate added 1 s");
            Assert.That(backend.RootDirectory, Is.EqualTo(Path.GetFullPath(directory.Path)), "the backend uses the configured directory");
        }
    }
}
