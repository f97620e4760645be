namespace Sessions.AspNetCore;

/// <summary>Endpoint metadata that switches sessions off for the endpoint (no backend call, no cookie). Added by <c>.WithoutSession()</c>.</summary>
public interface ISkipSessionMetadata
{
}

/// <summary>The metadata <c>.WithoutSession()</c> adds; can also be applied as an attribute to controllers and actions.</summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method, AllowMultiple = false, Inherited = true)]
public sealed class WithoutSessionAttribute : Attribute, ISkipSessionMetadata
{
}
