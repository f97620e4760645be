using System.Security.Cryptography;
using NUnit.Framework;
using Sessions.Engine;
using Sessions.Ids;

namespace Sessions.Core.Tests.Options;

public sealed class SessionOptionsValidatorTests
{
    private static readonly SessionOptionsValidator s_validator = new();

    [Test]
    public void Default_options_are_valid()
    {
        var result = s_validator.Validate(null, new SessionOptions());

        Assert.That(result.Succeeded, Is.True, result.FailureMessage);
    }

    [Test]
    public void The_boundary_values_are_valid()
    {
        var options = new SessionOptions
        {
            IdleTimeout = TimeSpan.FromTicks(1),
            AbsoluteTimeout = TimeSpan.FromTicks(1),
            TouchAfter = TimeSpan.Zero,
            KeyPrefix = new string('k', 100),
            IdLengthBytes = 16,
            MaxPayloadBytes = 64,
            MaxConflictRetries = 0,
            Format = SessionFormat.Json,
            ConcurrencyMode = ConcurrencyMode.Fail,
            FailureMode = FailureMode.Continue,
        };
        options.SigningKeys.Add(Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));

        var result = s_validator.Validate(null, options);

        Assert.That(result.Succeeded, Is.True, result.FailureMessage);
    }

    [Test]
    public void The_upper_boundary_values_and_an_empty_prefix_are_valid()
    {
        var options = new SessionOptions { KeyPrefix = "", IdLengthBytes = 128, MaxConflictRetries = 100 };

        var result = s_validator.Validate(null, options);

        Assert.That(result.Succeeded, Is.True, result.FailureMessage);
    }

    private static IEnumerable<TestCaseData> InvalidOptions()
    {
        yield return Case("Sessions:IdleTimeout", o => o.IdleTimeout = TimeSpan.Zero, "Idle_timeout_of_zero_is_refused");
        yield return Case("Sessions:IdleTimeout", o => o.IdleTimeout = TimeSpan.FromMinutes(-1), "Negative_idle_timeout_is_refused");
        yield return Case("Sessions:AbsoluteTimeout", o => o.AbsoluteTimeout = TimeSpan.Zero, "Absolute_timeout_of_zero_is_refused");
        yield return Case("Sessions:AbsoluteTimeout", o => o.AbsoluteTimeout = TimeSpan.FromHours(-1), "Negative_absolute_timeout_is_refused");
        yield return Case("Sessions:TouchAfter", o => o.TouchAfter = TimeSpan.FromSeconds(-1), "Negative_touch_after_is_refused");
        yield return Case("Sessions:KeyPrefix", o => o.KeyPrefix = "my app:", "Key_prefix_with_a_space_is_refused");
        yield return Case("Sessions:KeyPrefix", o => o.KeyPrefix = "sessión:", "Key_prefix_with_non_ascii_is_refused");
        yield return Case("Sessions:KeyPrefix", o => o.KeyPrefix = new string('k', 101), "Key_prefix_over_100_characters_is_refused");
        yield return Case("Sessions:KeyPrefix", o => o.KeyPrefix = null!, "Null_key_prefix_is_refused");
        yield return Case("Sessions:IdLengthBytes", o => o.IdLengthBytes = 15, "Id_length_of_15_bytes_is_refused");
        yield return Case("Sessions:IdLengthBytes", o => o.IdLengthBytes = 129, "Id_length_of_129_bytes_is_refused");
        yield return Case("Sessions:MaxPayloadBytes", o => o.MaxPayloadBytes = 63, "Max_payload_under_64_bytes_is_refused");
        yield return Case("Sessions:MaxPayloadBytes", o => o.MaxPayloadBytes = 0, "Max_payload_of_zero_is_refused");
        yield return Case("Sessions:MaxConflictRetries", o => o.MaxConflictRetries = -1, "Negative_conflict_retries_are_refused");
        yield return Case("Sessions:MaxConflictRetries", o => o.MaxConflictRetries = 101, "More_than_100_conflict_retries_are_refused");
        yield return Case("Sessions:Format", o => o.Format = (SessionFormat)7, "Undefined_format_is_refused");
        yield return Case("Sessions:ConcurrencyMode", o => o.ConcurrencyMode = (ConcurrencyMode)9, "Undefined_concurrency_mode_is_refused");
        yield return Case("Sessions:FailureMode", o => o.FailureMode = (FailureMode)(-1), "Undefined_failure_mode_is_refused");
        yield return Case("Sessions:SigningKeys:0", o => o.SigningKeys.Add("not base64!"), "Signing_key_that_is_not_base64_is_refused");
        yield return Case("Sessions:SigningKeys:0", o => o.SigningKeys.Add(Convert.ToBase64String(new byte[31])), "Signing_key_of_31_bytes_is_refused");
        yield return Case("Sessions:SigningKeys:0", o => o.SigningKeys.Add("   "), "Blank_signing_key_is_refused");
        yield return Case("Sessions:SigningKeys:0", o => o.SigningKeys.Add(""), "Empty_signing_key_is_refused");
        yield return Case(
            "Sessions:SigningKeys:1",
            o =>
            {
                o.SigningKeys.Add(Convert.ToBase64String(new byte[32]));
                o.SigningKeys.Add(Convert.ToBase64String(new byte[16]));
            },
            "Short_second_signing_key_is_refused_by_its_index");
        yield return Case("Sessions:CircuitBreaker:FailureRatio", o => o.CircuitBreaker.FailureRatio = 0, "Failure_ratio_of_zero_is_refused");
        yield return Case("Sessions:CircuitBreaker:MinimumThroughput", o => o.CircuitBreaker.MinimumThroughput = 1, "Minimum_throughput_of_one_is_refused");
        yield return Case("Sessions:CircuitBreaker:SamplingDuration", o => o.CircuitBreaker.SamplingDuration = TimeSpan.FromMilliseconds(499), "Sampling_under_500_ms_is_refused");
        yield return Case("Sessions:CircuitBreaker:BreakDuration", o => o.CircuitBreaker.BreakDuration = TimeSpan.FromMinutes(2), "Break_over_a_minute_is_refused");
        yield return Case("Sessions:CircuitBreaker", o => o.CircuitBreaker = null!, "Null_circuit_breaker_is_refused");
        yield return Case("Sessions:Cookie:Name", o => o.Cookie.Name = "my session", "Cookie_name_with_a_space_is_refused");
        yield return Case("Sessions:Cookie:Path", o => o.Cookie.Path = "app", "Cookie_path_without_a_slash_is_refused");
        yield return Case("Sessions:MaxSessionsPerUser", o => o.MaxSessionsPerUser = 0, "Zero_sessions_per_user_is_refused");
        yield return Case("Sessions:SessionLimitMode", o => o.SessionLimitMode = (SessionLimitMode)3, "Undefined_limit_mode_is_refused");
        yield return Case("Sessions:MovedIdLifetime", o => o.MovedIdLifetime = TimeSpan.FromHours(2), "Moved_id_lifetime_over_an_hour_is_refused");
        yield return Case("Sessions:OperationTimeout", o => o.OperationTimeout = TimeSpan.FromMilliseconds(9), "Operation_timeout_under_10_ms_is_refused");
        yield return Case("Sessions:MaxConflictRetryDelay", o => o.MaxConflictRetryDelay = TimeSpan.FromMilliseconds(1), "Max_retry_delay_under_the_retry_delay_is_refused");
        yield return Case("Sessions:ExcludedPaths", o => o.ExcludedPaths.Add("health"), "Excluded_path_without_a_slash_is_refused");

        static TestCaseData Case(string setting, Action<SessionOptions> spoil, string name) =>
            new TestCaseData(setting, spoil).SetName(name);
    }

    [TestCaseSource(nameof(InvalidOptions))]
    public void Each_invalid_setting_fails_with_a_message_naming_it(string setting, Action<SessionOptions> spoil)
    {
        var options = new SessionOptions();
        spoil(options);

        var result = s_validator.Validate(null, options);

        Assert.That(result.Failed, Is.True);
        Assert.That(result.Failures, Has.Exactly(1).Items, "only the spoiled setting fails");
        Assert.That(result.Failures!.Single(), Does.StartWith(setting + " "));
    }

    [TestCase(null)]
    [TestCase("")]
    [TestCase("tenant a")]
    public void A_range_failure_says_the_range_in_the_settings_own_terms_whatever_the_options_name(string? name)
    {
        var result = s_validator.Validate(name, new SessionOptions { IdleTimeout = TimeSpan.FromDays(3651), IdLengthBytes = 8 });

        Assert.That(result.Failures, Is.EquivalentTo(new[]
        {
            "Sessions:IdleTimeout must be more than 0 and at most 3650 days.",
            "Sessions:IdLengthBytes must be between 16 and 128.",
        }));
    }

    [Test]
    public void Raw_ids_too_long_for_a_storage_key_after_the_prefix_are_refused()
    {
        // 100 + 171 characters exceeds the 250-character key, so every save would throw; with hashing on the same settings are fine.
        var hashed = new SessionOptions { HashIdsAtRest = true, IdLengthBytes = 128, KeyPrefix = new string('k', 100) };
        var raw = new SessionOptions { HashIdsAtRest = false, IdLengthBytes = 128, KeyPrefix = new string('k', 100) };
        Assert.That(s_validator.Validate(null, hashed).Succeeded, Is.True);

        var result = s_validator.Validate(null, raw);

        Assert.That(result.Failed, Is.True, "accepted a prefix and raw ID length that cannot form a storage key");
        Assert.That(result.FailureMessage, Does.Contain("Sessions:KeyPrefix").Or.Contain("Sessions:IdLengthBytes").Or.Contain("Sessions:HashIdsAtRest"));
    }

    [Test]
    public void Every_raw_id_length_and_prefix_the_validator_accepts_forms_a_storage_key()
    {
        var unusable = new List<string>();
        foreach (var prefixLength in new[] { 0, 8, 79, 80, 100 })
        {
            foreach (var idBytes in new[] { 16, 32, 64, 128 })
            {
                var options = new SessionOptions { HashIdsAtRest = false, IdLengthBytes = idBytes, KeyPrefix = new string('k', prefixLength) };
                var id = new SessionIdGenerator(idBytes).CreateId();
                if (s_validator.Validate(null, options).Succeeded && new SessionKeyBuilder(options.KeyPrefix, false).ForSession(id) is null)
                {
                    unusable.Add($"prefix {prefixLength} chars, {idBytes}-byte IDs");
                }
            }
        }

        Assert.That(unusable, Is.Empty, "valid options under which no session can be saved");
    }

    [Test]
    public void Idle_timeout_too_large_to_add_to_the_current_time_is_refused()
    {
        var result = s_validator.Validate(null, new SessionOptions { IdleTimeout = TimeSpan.MaxValue });

        Assert.That(result.Failed, Is.True, "accepted an idle timeout that overflows DateTimeOffset when added to now");
        Assert.That(result.FailureMessage, Does.Contain("Sessions:IdleTimeout"));
    }

    [Test]
    public void Absolute_timeout_too_large_to_add_to_the_current_time_is_refused()
    {
        var result = s_validator.Validate(null, new SessionOptions { AbsoluteTimeout = TimeSpan.MaxValue });

        Assert.That(result.Failed, Is.True, "accepted an absolute timeout that overflows DateTimeOffset when added to now");
        Assert.That(result.FailureMessage, Does.Contain("Sessions:AbsoluteTimeout"));
    }

    [Test]
    public void Signing_key_failure_says_how_to_generate_a_key()
    {
        var options = new SessionOptions();
        options.SigningKeys.Add("short");

        var result = s_validator.Validate(null, options);

        Assert.That(result.FailureMessage, Does.Contain("openssl rand -base64 32"));
    }

    [Test]
    public void Signing_keys_in_base64url_are_accepted()
    {
        var options = new SessionOptions();
        options.SigningKeys.Add(System.Buffers.Text.Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(48)));

        Assert.That(s_validator.Validate(null, options).Succeeded, Is.True);
    }

    [Test]
    public void Every_invalid_setting_is_reported_at_once()
    {
        var options = new SessionOptions { IdleTimeout = TimeSpan.Zero, IdLengthBytes = 1, MaxPayloadBytes = 1 };

        var result = s_validator.Validate(null, options);

        Assert.That(result.Failures, Has.Exactly(3).Items);
        Assert.That(result.FailureMessage, Does.Contain("Sessions:IdleTimeout").And.Contain("Sessions:IdLengthBytes").And.Contain("Sessions:MaxPayloadBytes"));
    }
}
