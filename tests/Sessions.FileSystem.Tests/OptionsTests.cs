using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;
using Sessions.Backends;
using Sessions.FileSystem.Tests.Support;

namespace Sessions.FileSystem.Tests;

/// <summary>Options: defaults, validation with messages that say what to set, and registration.</summary>
public sealed class OptionsTests : FileSystemBackendTestBase
{
    [Test]
    public void Defaults_are_the_documented_ones()
    {
        var options = new FileSystemSessionBackendOptions();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(options.Directory, Is.EqualTo("./.sessions"));
            Assert.That(options.Fsync, Is.False);
            Assert.That(options.LockTimeout, Is.EqualTo(TimeSpan.FromSeconds(10)));
        }
    }

    [TestCase("", "Directory")]
    [TestCase("   ", "Directory")]
    [TestCase("bad\0path", "Directory")]
    public void An_unusable_directory_is_rejected_with_a_message_naming_the_option(string directory, string option)
    {
        var error = Assert.Throws<ArgumentException>(() => NewBackend(o => o.Directory = directory));

        Assert.That(error!.Message, Does.Contain($"FileSystemSessionBackendOptions.{option}"));
    }

    [TestCase(0)]
    [TestCase(-1)]
    public void A_lock_timeout_that_is_not_positive_is_rejected(int milliseconds)
    {
        var error = Assert.Throws<ArgumentException>(() => NewBackend(o => o.LockTimeout = TimeSpan.FromMilliseconds(milliseconds)));

        Assert.That(error!.Message, Does.Contain("FileSystemSessionBackendOptions.LockTimeout"));
    }

    [Test]
    public void A_relative_directory_is_resolved_to_a_full_path_and_created()
    {
        var target = FixtureDirectory.NewSubdirectoryPath("relative");
        var relative = Path.GetRelativePath(Environment.CurrentDirectory, target);
        Assume.That(Path.IsPathRooted(relative), Is.False, "the temp folder must be reachable by a relative path");

        var backend = NewBackend(root: relative);

        Assert.That(backend.RootDirectory, Is.EqualTo(target));
        Assert.That(target, Does.Exist);
    }

    [Test]
    public void AddFileSystemBackend_registers_a_configured_backend_named_filesystem()
    {
        var root = FixtureDirectory.NewSubdirectoryPath("di");
        var clock = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        var builder = new RecordingSessionsBuilder();
        builder.Services.AddSingleton<TimeProvider>(clock);

        Assert.That(builder.AddFileSystemBackend(o => o.Directory = root), Is.SameAs(builder));

        using var services = builder.Services.BuildServiceProvider();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(builder.Name, Is.EqualTo("filesystem"));
            var backend = builder.Factory!(services);
            Assert.That(backend, Is.InstanceOf<FileSystemSessionBackend>());
            Assert.That(((FileSystemSessionBackend)backend).RootDirectory, Is.EqualTo(root));
        }
    }

    [Test]
    public async Task AddFileSystemBackend_uses_the_registered_clock()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var builder = new RecordingSessionsBuilder();
        builder.Services.AddSingleton<TimeProvider>(clock);
        builder.AddFileSystemBackend(o => o.Directory = FixtureDirectory.NewSubdirectoryPath("di"));
        await using var services = builder.Services.BuildServiceProvider();
        await using var backend = (FileSystemSessionBackend)builder.Factory!(services);

        await backend.SetAsync("session:c", Record("x", clock.GetUtcNow().AddMinutes(1)), SetCondition.Always, default);
        clock.Advance(TimeSpan.FromMinutes(1));

        Assert.That(await backend.GetAsync("session:c", default), Is.Null, "expired by the container's clock, long before the real one");
    }

    [Test]
    public void AddFileSystemBackend_validates_options_when_the_backend_is_created_with_clear_messages()
    {
        var builder = new RecordingSessionsBuilder();
        builder.AddFileSystemBackend(o =>
        {
            o.Directory = "";
            o.LockTimeout = TimeSpan.Zero;
        });
        using var services = builder.Services.BuildServiceProvider();

        // The core creates the selected backend at start-up; a registered but unselected one is never created or validated.
        var error = Assert.Throws<OptionsValidationException>(() => builder.Factory!(services));

        Assert.That(error!.Failures, Has.Some.Contains("FileSystemSessionBackendOptions.Directory").And.Some.Contains("FileSystemSessionBackendOptions.LockTimeout"));
    }

    private sealed class RecordingSessionsBuilder : ISessionsBuilder
    {
        public IServiceCollection Services { get; } = new ServiceCollection();

        public string? Name { get; private set; }

        public Func<IServiceProvider, ISessionBackend>? Factory { get; private set; }

        public ISessionsBuilder UseBackend(string name, Func<IServiceProvider, ISessionBackend> factory)
        {
            Name = name;
            Factory = factory;
            return this;
        }
    }
}
