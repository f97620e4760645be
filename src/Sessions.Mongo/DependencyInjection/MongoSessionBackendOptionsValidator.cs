using Microsoft.Extensions.Options;
using MongoDB.Driver;
using Sessions.Mongo;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Validates <see cref="MongoSessionBackendOptions"/> when the backend is created, with messages that say what to set.</summary>
internal sealed class MongoSessionBackendOptionsValidator(MongoSessionsBuilderExtensions.Store store, IServiceProviderIsService? registered)
    : IValidateOptions<MongoSessionBackendOptions>
{
    public ValidateOptionsResult Validate(string? name, MongoSessionBackendOptions options)
    {
        var storeSupplied = store != MongoSessionsBuilderExtensions.Store.FromOptionsOrContainer
            || registered?.IsService(typeof(IMongoClient)) == true;
        var errors = options.Validate(storeSupplied, databaseSupplied: store == MongoSessionsBuilderExtensions.Store.Database);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
