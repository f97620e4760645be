using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;

namespace Sessions.EFCore.Tests.Migrations;

/// <summary>The model as of the last migration, which EF Core compares with the current model to detect pending changes.</summary>
[DbContext(typeof(AppDbContext))]
public sealed class AppDbContextModelSnapshot : ModelSnapshot
{
    protected override void BuildModel(ModelBuilder modelBuilder)
    {
        modelBuilder.HasAnnotation("ProductVersion", "10.0.14");

        modelBuilder.Entity("Sessions.EFCore.SessionEntity", b =>
        {
            b.Property<string>("Key").HasMaxLength(250).IsUnicode(false).HasColumnName("key");
            b.Property<long>("ExpiresAtUnixMilliseconds").HasColumnName("expires_at");
            b.Property<byte[]>("Payload").IsRequired().HasColumnName("payload");
            b.Property<long>("Version").HasColumnName("version");
            b.HasKey("Key").HasName("pk_app_sessions");
            b.HasIndex("ExpiresAtUnixMilliseconds").HasDatabaseName("ix_app_sessions_expires_at");
            b.ToTable("app_sessions");
        });

        modelBuilder.Entity("Sessions.EFCore.Tests.Migrations.Note", b =>
        {
            b.Property<string>("Id").HasMaxLength(50).HasColumnName("id");
            b.Property<string>("Text").IsRequired().HasMaxLength(200).HasColumnName("text");
            b.HasKey("Id").HasName("pk_notes");
            b.ToTable("notes");
        });
    }
}
