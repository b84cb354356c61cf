using SmartCity.Telemetry.Devices;

namespace SmartCity.Telemetry.Tests.Devices;

public class LineProtocolTests
{
    private static readonly DateTimeOffset Ts = DateTimeOffset.FromUnixTimeMilliseconds(1_764_367_170_250);

    [Fact]
    public void Format_AllFieldTypes_UsesInfluxSyntaxAndNanoseconds()
    {
        var p = new Point("m", Ts).Tag("b", "2").Tag("a", "1")
            .Field("f", 1.5).Field("i", 42L).Field("b", true).Field("s", "text");

        Assert.Equal("m,a=1,b=2 f=1.5,i=42i,b=true,s=\"text\" 1764367170250000000", LineProtocol.Format(p));
    }

    [Fact]
    public void Format_SpecialCharactersInTagsAndKeys_Escaped()
    {
        var p = new Point("my measurement,x", Ts).Tag("k ey", "v,a=l ue").Field("f=1", 1.0);

        Assert.Equal(@"my\ measurement\,x,k\ ey=v\,a\=l\ ue f\=1=1 1764367170250000000", LineProtocol.Format(p));
    }

    [Fact]
    public void Format_HostileStringField_CannotBreakTheLine()
    {
        var p = new Point("m", Ts).Field("s", "a \"quoted\" \\ value,\nnext=1 line\r\tend");

        var line = LineProtocol.Format(p);

        Assert.Equal("m s=\"a \\\"quoted\\\" \\\\ value,\\nnext=1 line\\r\\tend\" 1764367170250000000", line);
        Assert.DoesNotContain('\n', line);
    }

    [Fact]
    public void Format_TagValueEndingWithBackslashOrNewline_DoesNotEscapeSeparator()
    {
        var p = new Point("m", Ts).Tag("t", "abc\\").Tag("u", "x\ny").Field("f", 1.0);

        Assert.Equal(@"m,t=abc,u=x\ny f=1 1764367170250000000", LineProtocol.Format(p));
    }

    [Fact]
    public void Format_EmptyTagValue_TagOmitted()
    {
        var p = new Point("m", Ts).Tag("t", "").Field("f", 1.0);
        Assert.Equal("m f=1 1764367170250000000", LineProtocol.Format(p));
    }

    [Fact]
    public void Format_NonFiniteFloat_Throws()
    {
        var p = new Point("m", Ts).Field("f", double.NaN);
        Assert.Throws<ArgumentException>(() => LineProtocol.Format(p));
    }

    [Fact]
    public void Format_FloatsAreCultureInvariantAndRoundTrip()
    {
        var p = new Point("m", Ts).Field("f", 0.1 + 0.2).Field("g", 1e-7).Field("h", 123456789.125);
        Assert.Equal("m f=0.30000000000000004,g=1E-07,h=123456789.125 1764367170250000000", LineProtocol.Format(p));
    }
}
