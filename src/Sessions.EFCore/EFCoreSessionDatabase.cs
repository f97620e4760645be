namespace Sessions.EFCore;

/// <summary>The databases <c>AddEFCoreBackend()</c> can set up from configuration alone (<c>Sessions:EFCore:Provider</c>).</summary>
public enum EFCoreSessionDatabase
{
    /// <summary>SQLite, through <c>Microsoft.EntityFrameworkCore.Sqlite</c> (<c>UseSqlite</c>).</summary>
    Sqlite = 1,

    /// <summary>PostgreSQL, through <c>Npgsql.EntityFrameworkCore.PostgreSQL</c> (<c>UseNpgsql</c>).</summary>
    PostgreSQL = 2,
}
