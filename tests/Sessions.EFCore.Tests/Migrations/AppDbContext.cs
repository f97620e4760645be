using Microsoft.EntityFrameworkCore;

namespace Sessions.EFCore.Tests.Migrations;

/// <summary>An application's own context: its own table, plus the sessions table mapped with <c>modelBuilder.AddSessions()</c>.</summary>
public sealed class AppDbContext(DbContextOptions<AppDbContext> options) : DbContext(options)
{
    public const string SessionsTable = "app_sessions";

    public DbSet<Note> Notes => Set<Note>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<Note>(note =>
        {
            note.ToTable("notes");
            note.HasKey(n => n.Id).HasName("pk_notes");
            note.Property(n => n.Id).HasColumnName("id").HasMaxLength(50).ValueGeneratedNever();
            note.Property(n => n.Text).HasColumnName("text").HasMaxLength(200);
        });
        modelBuilder.AddSessions(SessionsTable);
    }
}

/// <summary>The app's own entity, to show the sessions table travelling alongside it.</summary>
public sealed class Note
{
    public string Id { get; set; } = string.Empty;

    public string Text { get; set; } = string.Empty;
}
