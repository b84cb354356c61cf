using System.Buffers;
using System.Text.Json;

namespace SmartCity.Simulators.Devices;

/// <summary>
/// Writes contract payloads with one reused buffer and JSON writer; only the final byte[] is
/// allocated per message (it must outlive the publish until the broker's PUBACK).
/// </summary>
public sealed class PayloadWriter : IDisposable
{
    private readonly ArrayBufferWriter<byte> _buffer = new(512);
    private readonly Utf8JsonWriter _json;

    public PayloadWriter() => _json = new Utf8JsonWriter(_buffer, new JsonWriterOptions { SkipValidation = true });

    /// <summary>Starts <c>{"v":1,"ts":"..."}</c>; write fields on the returned writer, then call <see cref="End"/>.</summary>
    public Utf8JsonWriter Begin(DateTimeOffset ts)
    {
        _buffer.ResetWrittenCount();
        _json.Reset(_buffer);
        _json.WriteStartObject();
        _json.WriteNumber("v", 1);
        WriteTimestamp("ts", ts);
        return _json;
    }

    /// <summary>Starts an object without the envelope (last will: <c>{"v":1,"online":false}</c>, malformed payloads).</summary>
    public Utf8JsonWriter BeginBare()
    {
        _buffer.ResetWrittenCount();
        _json.Reset(_buffer);
        _json.WriteStartObject();
        return _json;
    }

    public void WriteTimestamp(string name, DateTimeOffset ts)
    {
        // RFC 3339, UTC, milliseconds: what a device clock with ms resolution sends.
        Span<char> text = stackalloc char[32];
        ts.UtcDateTime.TryFormat(text, out var n, "yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);
        _json.WriteString(name, text[..n]);
    }

    public byte[] End()
    {
        _json.WriteEndObject();
        _json.Flush();
        return _buffer.WrittenSpan.ToArray();
    }

    public void Dispose() => _json.Dispose();
}
