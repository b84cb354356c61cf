using System.Text;

namespace SmartCity.Worker;

/// <summary>Text taken from a request and echoed in an answer: never raw.</summary>
public static class ApiText
{
    /// <summary>Longest echo of a request value, in characters.</summary>
    public const int MaxEchoChars = 64;

    /// <summary>Longest message that may quote a request value (an engine's reason), in characters.</summary>
    public const int MaxMessageChars = 300;

    /// <summary>
    /// <paramref name="value"/> safe to show: control characters (CR/LF would forge lines in a log or a
    /// terminal that shows the answer), line and paragraph separators and bidi overrides become '?',
    /// and it is cut at <paramref name="maxChars"/> characters.
    /// </summary>
    public static string Sanitize(string value, int maxChars = MaxEchoChars)
    {
        var sb = new StringBuilder(Math.Min(value.Length, maxChars) + 1);
        foreach (var c in value.Length > maxChars ? value.AsSpan(0, maxChars) : value.AsSpan())
        {
            var unsafeChar = char.IsControl(c) || char.IsSurrogate(c) || c is '\u2028' or '\u2029' || (c >= '\u202A' && c <= '\u202E') || (c >= '\u2066' && c <= '\u2069');
            sb.Append(unsafeChar ? '?' : c);
        }

        return value.Length > maxChars ? sb.Append('…').ToString() : sb.ToString();
    }
}
