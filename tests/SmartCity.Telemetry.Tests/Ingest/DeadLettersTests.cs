using System.Buffers;
using System.Text;
using SmartCity.Telemetry.Devices;
using SmartCity.Telemetry.Ingest;

namespace SmartCity.Telemetry.Tests.Ingest;

public class DeadLettersTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 28, 22, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Create_SameInstant_TimestampsStrictlyIncrease()
    {
        var dl = new DeadLetters();
        var payload = new ReadOnlySequence<byte>("x"u8.ToArray());
        var reject = DecodeResult.Rejected(RejectReason.MalformedJson, "bad");

        var a = dl.Create("t", payload, reject, null, Now);
        var b = dl.Create("t", payload, reject, null, Now);

        Assert.True(b.UnixNanoseconds > a.UnixNanoseconds);
    }

    [Fact]
    public void Create_HugeHostilePayload_KeepsBoundedExcerptAndSize()
    {
        var dl = new DeadLetters();
        var bytes = Encoding.UTF8.GetBytes(new string('"', 10_000) + "\n,= é");
        var topic = "city/" + new string('x', 1_000);

        var p = dl.Create(topic, new ReadOnlySequence<byte>(bytes), DecodeResult.Rejected(RejectReason.PayloadTooLarge, "too big"), null, Now);

        Assert.Equal(FieldValue.Int(bytes.Length), p.GetField("payload_bytes"));
        Assert.Equal(DeadLetters.ExcerptBytes, p.GetField("payload_excerpt")!.Value.Text!.Length);
        Assert.True(p.GetField("topic")!.Value.Text!.Length <= DeadLetters.MaxTopicChars + 3);
        Assert.Equal("PayloadTooLarge", p.GetTag("reason"));
        Assert.DoesNotContain('\n', LineProtocol.Format(p));
        Assert.Single(dl.Recent());
    }

    [Fact]
    public void Create_PayloadInSegmentsWithInvalidUtf8_ExcerptAsDecodingTheFirstBytesInOnePiece()
    {
        // MQTT payloads can arrive as several segments; a character split between two segments, a
        // stray continuation byte and a lead byte cut off at the excerpt's end must read the same as
        // the same bytes decoded in one piece.
        var bytes = Encoding.UTF8.GetBytes(new string('a', 100) + "é€😀" + new string('b', 200)).ToList();
        bytes.Insert(50, 0x80);
        bytes.Insert(DeadLetters.ExcerptBytes - 1, 0xE2);
        var all = bytes.ToArray();
        // 100 'a', the stray byte, then é at 101-102, € at 103-105, 😀 at 106-109: cut inside é and inside 😀.
        var first = new Segment(all.AsMemory(0, 102));
        var last = first.Append(all.AsMemory(102, 6)).Append(all.AsMemory(108));
        var payload = new ReadOnlySequence<byte>(first, 0, last, all.Length - 108);
        Assert.False(payload.IsSingleSegment);

        var p = new DeadLetters().Create("t", payload, DecodeResult.Rejected(RejectReason.MalformedJson, "bad"), null, Now);

        Assert.Equal(Encoding.UTF8.GetString(all, 0, DeadLetters.ExcerptBytes), p.GetField("payload_excerpt")!.Value.Text);
        Assert.Equal(FieldValue.Int(all.Length), p.GetField("payload_bytes"));
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory) => Memory = memory;

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory) { RunningIndex = RunningIndex + Memory.Length };
            Next = next;
            return next;
        }
    }

    [Fact]
    public void Recent_KeepsNewestFirstAndIsBounded()
    {
        var dl = new DeadLetters();
        for (var i = 0; i < 250; i++)
        {
            dl.Create($"t{i}", ReadOnlySequence<byte>.Empty, DecodeResult.Rejected(RejectReason.InvalidTopic, "x"), null, Now);
        }

        var recent = dl.Recent();
        Assert.Equal(200, recent.Count);
        Assert.Equal("t249", recent[0].Topic);
    }

    [Fact]
    public void Create_TopicCutInsideAnEmoji_KeepsWholeCharacters()
    {
        var dl = new DeadLetters();
        var topic = new string('a', DeadLetters.MaxTopicChars - 1) + "😀 and more";

        var p = dl.Create(topic, ReadOnlySequence<byte>.Empty, DecodeResult.Rejected(RejectReason.InvalidTopic, "x"), null, Now);

        Assert.Equal(new string('a', DeadLetters.MaxTopicChars - 1) + "...", p.GetField("topic")!.Value.Text);
    }
}
