namespace Sessions.Envelope;

/// <summary>Encodes envelopes in the configured format and decodes either format, told apart by the first byte.</summary>
internal static class EnvelopeCodec
{
    /// <summary>Encodes <paramref name="envelope"/>; throws <see cref="SessionPayloadTooLargeException"/> beyond <paramref name="maxBytes"/>.</summary>
    public static byte[] Encode(SessionEnvelope envelope, SessionFormat format, int maxBytes) => Encode(envelope, format, maxBytes, null, null);

    /// <summary>
    /// Encodes <paramref name="envelope"/>; throws <see cref="SessionPayloadTooLargeException"/> beyond min(<paramref name="maxBytes"/>,
    /// <paramref name="backendMaxBytes"/>), with both limits in the message.
    /// </summary>
    public static byte[] Encode(SessionEnvelope envelope, SessionFormat format, int maxBytes, int? backendMaxBytes, string? backendName)
    {
        var payload = format == SessionFormat.Json ? JsonEnvelopeFormat.Encode(envelope) : BinaryEnvelopeFormat.Encode(envelope);
        ThrowIfTooLarge(payload.Length, maxBytes, backendMaxBytes, backendName);
        return payload;
    }

    /// <summary>Throws <see cref="SessionPayloadTooLargeException"/> when <paramref name="length"/> bytes exceed min(<paramref name="maxBytes"/>, <paramref name="backendMaxBytes"/>).</summary>
    public static void ThrowIfTooLarge(int length, int maxBytes, int? backendMaxBytes, string? backendName)
    {
        var limit = backendMaxBytes is { } b && b < maxBytes ? b : maxBytes;
        if (length > limit)
        {
            var which = limit == maxBytes
                ? $"over the limit of {maxBytes} bytes (Sessions:MaxPayloadBytes)"
                : $"over the {limit} bytes one record can hold in the session store ({backendName}; Sessions:MaxPayloadBytes is {maxBytes})";
            throw new SessionPayloadTooLargeException(
                $"The session is {length} bytes encoded, {which}. Nothing was written; the stored session is unchanged. "
                + "Store less in the session (keep large data elsewhere and put its key in the session)"
                + (limit == maxBytes ? ", or raise the limit." : "."))
            {
                PayloadBytes = length,
                MaxPayloadBytes = limit,
            };
        }
    }

    /// <summary>
    /// The payload of a "moved" tombstone: what a regenerate leaves under the old ID for <c>SessionOptions.MovedIdLifetime</c>.
    /// Its first byte (0x00) is neither format's, so readers that do not know tombstones see an undecodable record, never a session.
    /// It holds nothing else: no data and no pointer to the new ID.
    /// </summary>
    public static ReadOnlySpan<byte> TombstonePayload => [0x00, (byte)'m', (byte)'o', (byte)'v', (byte)'e', (byte)'d'];

    /// <summary>Whether <paramref name="payload"/> is a <see cref="TombstonePayload"/>.</summary>
    public static bool IsTombstone(ReadOnlySpan<byte> payload) => payload.SequenceEqual(TombstonePayload);

    /// <summary>Decodes a payload in either format. Never throws: anything malformed returns <see langword="false"/>.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> payload, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out SessionEnvelope? envelope)
    {
        envelope = null;
        if (payload.IsEmpty)
        {
            return false;
        }

        return payload[0] switch
        {
            BinaryEnvelopeFormat.FormatByte => BinaryEnvelopeFormat.TryDecode(payload, out envelope),
            JsonEnvelopeFormat.FormatByte => JsonEnvelopeFormat.TryDecode(payload, out envelope),
            _ => false,
        };
    }
}
