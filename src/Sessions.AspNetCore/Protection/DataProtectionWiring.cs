using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Sessions.Protection;

/// <summary>How the DI registration finds Data Protection for <see cref="SessionOptions.ProtectPayloads"/>.</summary>
internal static class DataProtectionWiring
{
    /// <summary>
    /// The app's Data Protection, resolved on first use, or <see langword="null"/> when the app registered none. Deferred so
    /// that an app with <see cref="SessionOptions.ProtectPayloads"/> off that never meets a protected record never builds
    /// its key ring (which would create key files).
    /// </summary>
    public static IDataProtectionProvider? Find(IServiceProvider services) =>
        services.GetService<IServiceProviderIsService>()?.IsService(typeof(IDataProtectionProvider)) == true
            ? new DeferredProvider(services)
            : services.GetService<IDataProtectionProvider>();

    private sealed class DeferredProvider(IServiceProvider services) : IDataProtectionProvider
    {
        public IDataProtector CreateProtector(string purpose) => services.GetRequiredService<IDataProtectionProvider>().CreateProtector(purpose);
    }

    /// <summary>Fails start-up when <see cref="SessionOptions.ProtectPayloads"/> is on and Data Protection is not registered.</summary>
    internal sealed class Validator(IServiceProvider services) : IValidateOptions<SessionOptions>
    {
        public ValidateOptionsResult Validate(string? name, SessionOptions options) =>
            options.ProtectPayloads && Find(services) is null
                ? ValidateOptionsResult.Fail(
                    "Sessions:ProtectPayloads is on, but Data Protection is not registered. Call services.AddDataProtection() "
                    + "(with a persistent key ring shared by every instance, e.g. .PersistKeysToFileSystem(...)), or turn ProtectPayloads off.")
                : ValidateOptionsResult.Success;
    }
}
