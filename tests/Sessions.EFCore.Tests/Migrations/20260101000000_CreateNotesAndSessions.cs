using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace Sessions.EFCore.Tests.Migrations;

/// <summary>
/// The app's first migration, as <c>dotnet ef migrations add</c> would write it for <see cref="AppDbContext"/>, but without
/// store types so that the one migration applies to SQLite and PostgreSQL alike (each provider maps the CLR types).
/// </summary>
[DbContext(typeof(AppDbContext))]
[Migration("20260101000000_CreateNotesAndSessions")]
public sealed class CreateNotesAndSessions : Migration
{
    protected override void Up(MigrationBuilder migrationBuilder)
    {
        migrationBuilder.CreateTable(
            name: "notes",
            columns: table => new
            {
                id = table.Column<string>(maxLength: 50, nullable: false),
                text = table.Column<string>(maxLength: 200, nullable: false),
            },
            constraints: table => table.PrimaryKey("pk_notes", x => x.id));

        migrationBuilder.CreateTable(
            name: AppDbContext.SessionsTable,
            columns: table => new
            {
                key = table.Column<string>(unicode: false, maxLength: 250, nullable: false),
                payload = table.Column<byte[]>(nullable: false),
                expires_at = table.Column<long>(nullable: false),
                version = table.Column<long>(nullable: false),
            },
            constraints: table => table.PrimaryKey("pk_app_sessions", x => x.key));

        migrationBuilder.CreateIndex(name: "ix_app_sessions_expires_at", table: AppDbContext.SessionsTable, column: "expires_at");
    }

    protected override void Down(MigrationBuilder migrationBuilder)
    {
        migrationBuilder.DropTable(name: AppDbContext.SessionsTable);
        migrationBuilder.DropTable(name: "notes");
    }
}
