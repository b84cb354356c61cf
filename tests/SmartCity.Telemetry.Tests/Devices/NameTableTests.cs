using SmartCity.Telemetry.Devices;

namespace SmartCity.Telemetry.Tests.Devices;

public sealed class NameTableTests
{
    [Fact]
    public void Get_EqualNames_OneInstanceFromStringsAndSpans()
    {
        var table = new NameTable();
        var first = table.Get(new string("d01-street-001".AsSpan()));

        Assert.Same(first, table.Get(new string("d01-street-001".AsSpan())));
        Assert.Same(first, table.Get("xd01-street-001".AsSpan(1)));
    }

    [Fact]
    public void Get_PastCapacity_NewNamesReturnedButNotKept()
    {
        var table = new NameTable(capacity: 2);
        var a = table.Get("a".AsSpan());
        table.Get("b".AsSpan());

        var c1 = table.Get("c".AsSpan());
        var c2 = table.Get("c".AsSpan());

        Assert.Equal("c", c1);
        Assert.NotSame(c1, c2);
        Assert.Same(a, table.Get("a".AsSpan()));
    }
}
