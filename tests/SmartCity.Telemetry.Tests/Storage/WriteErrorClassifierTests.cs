using System.Net.Sockets;
using InfluxDB.Client.Core.Exceptions;
using Polly.Timeout;
using SmartCity.Telemetry.Sinks.Influx;

namespace SmartCity.Telemetry.Tests.Storage;

/// <summary>Telegraf's outputs/influxdb_v2 table, status by status.</summary>
public sealed class WriteErrorClassifierTests
{
    [Theory]
    [InlineData(400, WriteErrorClass.BadData)]
    [InlineData(422, WriteErrorClass.BadData)]
    [InlineData(413, WriteErrorClass.TooLarge)]
    [InlineData(401, WriteErrorClass.Configuration)]
    [InlineData(403, WriteErrorClass.Configuration)]
    [InlineData(404, WriteErrorClass.Configuration)]
    [InlineData(408, WriteErrorClass.Transient)]
    [InlineData(429, WriteErrorClass.Transient)]
    [InlineData(0, WriteErrorClass.Transient)]
    [InlineData(500, WriteErrorClass.Transient)]
    [InlineData(503, WriteErrorClass.Transient)]
    [InlineData(402, WriteErrorClass.Rejected)]
    [InlineData(405, WriteErrorClass.Rejected)]
    [InlineData(409, WriteErrorClass.Rejected)]
    [InlineData(418, WriteErrorClass.Rejected)]
    [InlineData(451, WriteErrorClass.Rejected)]
    public void Classify_HttpStatus_FollowsTelegrafTable(int status, WriteErrorClass expected) =>
        Assert.Equal(expected, WriteErrorClassifier.Classify(new HttpException("x", status)));

    [Fact]
    public void Classify_NetworkAndTimeoutErrors_Transient()
    {
        Exception[] errors =
        [
            new HttpRequestException("refused"), new IOException("reset"), new SocketException(), new TimeoutException(),
            new TimeoutRejectedException(), new TaskCanceledException(),
        ];
        Assert.All(errors, e => Assert.Equal(WriteErrorClass.Transient, WriteErrorClassifier.Classify(e)));
    }

    [Fact]
    public void Classify_ProgrammingErrors_Fatal()
    {
#pragma warning disable CA2201 // the runtime's own exception, as a bug in the writer would raise it
        Exception[] errors = [new NullReferenceException(), new InvalidOperationException(), new ArgumentException(), new FormatException()];
#pragma warning restore CA2201
        Assert.All(errors, e => Assert.Equal(WriteErrorClass.Fatal, WriteErrorClassifier.Classify(e)));
    }

    [Fact]
    public void Describe_HttpError_NamesTheStatus() =>
        Assert.Equal("HTTP 418: short and stout", WriteErrorClassifier.Describe(new HttpException("short and stout", 418)));
}
