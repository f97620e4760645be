namespace Sessions.EFCore;

/// <summary>
/// The databases <c>AddEFCoreBackend()</c> can set up from configuration alone (<c>Sessions:EFCore:Provider</c>). The app
/// must reference the provider package named on each value; Sessions.EFCore finds its <c>Use...</c> method at start-up.
/// </summary>
public enum EFCoreSessionDatabase
{
    /// <summary>SQLite, through <c>Microsoft.EntityFrameworkCore.Sqlite</c> (<c>UseSqlite</c>).</summary>
    Sqlite = 1,

    /// <summary>PostgreSQL, through <c>Npgsql.EntityFrameworkCore.PostgreSQL</c> (<c>UseNpgsql</c>).</summary>
    PostgreSQL = 2,

    /// <summary>
    /// MySQL or MariaDB, through <c>Pomelo.EntityFrameworkCore.MySql</c> (<c>UseMySql</c>, with the server version detected
    /// from the server when the first context is created).
    /// </summary>
    MySql = 3,

    /// <summary>SQL Server or Azure SQL, through <c>Microsoft.EntityFrameworkCore.SqlServer</c> (<c>UseSqlServer</c>).</summary>
    SqlServer = 4,
}
