using System.Text;

namespace Sessions.Firestore;

/// <summary>
/// Turns the core's storage keys into Firestore document IDs and back. Keys are printable ASCII of at most 250
/// characters; a document ID may not contain '/', be '.' or '..', or match <c>__.*__</c>, and is at most 1,500 bytes
/// (Firestore's limits, from its data-model reference). The encoding percent-escapes '/' and '%' everywhere, and '.' and
/// '_' in the first position, so an ID never breaks those rules, is at most 750 bytes, and decodes back to the key.
/// </summary>
/// <remarks>
/// Escaping is character by character, so the ID of a key prefix is a prefix of the IDs of the keys under it: key listings
/// can range over document names.
/// </remarks>
internal static class SessionDocumentIds
{
    /// <summary>The longest ID an encoded key can produce, in bytes: every character escaped.</summary>
    public const int MaxIdBytes = 3 * Sessions.Backends.SessionKeys.MaxKeyLength;

    public static string Encode(string key)
    {
        if (!NeedsEscape(key))
        {
            return key;
        }

        var builder = new StringBuilder(key.Length + 8);
        for (var i = 0; i < key.Length; i++)
        {
            var c = key[i];
            if (MustEscape(c, i))
            {
                builder.Append('%').Append(((int)c).ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            }
            else
            {
                builder.Append(c);
            }
        }

        return builder.ToString();
    }

    /// <summary>Decodes an ID made by <see cref="Encode"/>; <see langword="null"/> when it is not one (a document someone else wrote).</summary>
    public static string? Decode(string id)
    {
        if (id.Length == 0)
        {
            return null;
        }

        if (!id.Contains('%', StringComparison.Ordinal))
        {
            return NeedsEscape(id) ? null : id;
        }

        var builder = new StringBuilder(id.Length);
        for (var i = 0; i < id.Length; i++)
        {
            if (id[i] != '%')
            {
                builder.Append(id[i]);
                continue;
            }

            if (i + 2 >= id.Length || !byte.TryParse(id.AsSpan(i + 1, 2), System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture, out var b))
            {
                return null;
            }

            builder.Append((char)b);
            i += 2;
        }

        var key = builder.ToString();
        return string.Equals(Encode(key), id, StringComparison.Ordinal) ? key : null;
    }

    /// <summary>The ID of the last document of the collection's name order; <see cref="Encode"/> never uses this character.</summary>
    public const char AfterAllIdCharacters = '\u007F';

    private static bool NeedsEscape(string key)
    {
        for (var i = 0; i < key.Length; i++)
        {
            if (MustEscape(key[i], i))
            {
                return true;
            }
        }

        return false;
    }

    private static bool MustEscape(char c, int position) => c is '/' or '%' || (position == 0 && c is '.' or '_');
}
