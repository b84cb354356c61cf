using System.Net;
using System.Text;
using SmartCity.Telemetry.Sinks.Influx;

namespace SmartCity.Telemetry.Tests.Storage;

/// <summary>The shared /query client on answers recorded from InfluxDB 1.6 (bodies as the server sent them).</summary>
public sealed class InfluxQlClientTests
{
    [Fact]
    public async Task QueryAsync_SeriesWithTags_ParsesNameTagsColumnsAndRows()
    {
        const string body = """{"results":[{"statement_id":0,"series":[{"name":"street_light","tags":{"device_id":"lamp-1","district":"north"},"columns":["time","spread"],"values":[[1764547200000,1.5]]},{"name":"street_light","tags":{"device_id":"lamp-2","district":"south"},"columns":["time","spread"],"values":[[1764547200000,2],[1764550800000,null]]}]}]}""";
        var (client, handler) = Create(HttpStatusCode.OK, body);
        using var _ = client;

        var answer = await client.QueryAsync("SELECT spread(\"energy_kwh\") FROM \"street_light\" GROUP BY \"district\", \"device_id\"", CancellationToken.None);

        Assert.Null(answer.Failure);
        Assert.Equal(2, answer.Series.Count);
        var second = answer.Series[1];
        Assert.Equal("street_light", second.Name);
        Assert.Equal("lamp-2", second.Tags["device_id"]);
        Assert.Equal("south", second.Tags["district"]);
        Assert.Equal(["time", "spread"], second.Columns);
        Assert.Equal(2, second.Rows.Count);
        Assert.Equal(1764547200000, second.Rows[0][0].GetInt64());
        Assert.Equal(2d, second.Rows[0][1].GetDouble());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, second.Rows[1][1].ValueKind);
        Assert.Equal(HttpMethod.Post, handler.Method);
        Assert.Equal("/query", handler.Path);
        Assert.Equal("Token read-token", handler.Authorization);
        Assert.Contains("db=city", handler.Form, StringComparison.Ordinal);
        Assert.Contains("epoch=ms", handler.Form, StringComparison.Ordinal);
        Assert.Contains("q=SELECT+spread", handler.Form, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ServerQueryAsync_SeriesWithoutTags_RowsPerDatabaseAndOnlyTheStatementSent()
    {
        const string body = """{"results":[{"statement_id":0,"series":[{"name":"databases","columns":["name"],"values":[["_internal"],["city"]]}]}]}""";
        var (client, handler) = Create(HttpStatusCode.OK, body);
        using var _ = client;

        var answer = await client.ServerQueryAsync("SHOW DATABASES", CancellationToken.None);

        Assert.Null(answer.Failure);
        var series = Assert.Single(answer.Series);
        Assert.Equal("databases", series.Name);
        Assert.Empty(series.Tags);
        Assert.Equal(["_internal", "city"], series.Rows.Select(r => r[0].GetString()));
        Assert.Equal("q=SHOW+DATABASES", handler.Form);
    }

    [Fact]
    public async Task QueryAsync_SeriesWithoutValues_EmptyRows()
    {
        // What 1.x sends for SHOW DATABASES on a server with no database: a series with no "values".
        var (client, _) = Create(HttpStatusCode.OK, """{"results":[{"statement_id":0,"series":[{"name":"databases","columns":["name"]}]}]}""");
        using var c = client;

        var answer = await client.QueryAsync("SHOW DATABASES", CancellationToken.None);

        Assert.Null(answer.Failure);
        Assert.Empty(Assert.Single(answer.Series).Rows);
    }

    [Fact]
    public async Task QueryAsync_EmptyResult_NoSeriesNoFailure()
    {
        var (client, _) = Create(HttpStatusCode.OK, """{"results":[{"statement_id":0}]}""");
        using var c = client;

        var answer = await client.QueryAsync("SELECT * FROM \"nothing\"", CancellationToken.None);

        Assert.Null(answer.Failure);
        Assert.Empty(answer.Series);
    }

    [Fact]
    public async Task QueryAsync_ErrorResult_RefusedWithServerMessage()
    {
        var (client, _) = Create(HttpStatusCode.OK, """{"results":[{"statement_id":0,"error":"database not found: nope"}]}""");
        using var c = client;

        var answer = await client.QueryAsync("SELECT * FROM \"x\"", CancellationToken.None);

        Assert.Empty(answer.Series);
        Assert.Equal(InfluxQlFailureKind.Refused, answer.Failure?.Kind);
        Assert.Equal("database not found: nope", answer.Failure?.Message);
    }

    [Fact]
    public async Task QueryAsync_Non2xx_StatusWithCodeAndBody()
    {
        var (client, _) = Create(HttpStatusCode.Unauthorized, """{"error":"authorization failed"}""");
        using var c = client;

        var answer = await client.QueryAsync("SELECT * FROM \"x\"", CancellationToken.None);

        Assert.Equal(InfluxQlFailureKind.Status, answer.Failure?.Kind);
        Assert.Equal(HttpStatusCode.Unauthorized, answer.Failure?.Status);
        Assert.Equal("""{"error":"authorization failed"}""", answer.Failure?.Body);
    }

    [Theory]
    [InlineData("<html>502 Bad Gateway</html>")]
    [InlineData("""{"results":[]}""")]
    [InlineData("""{"results":[{"series":[{"name":"m","columns":["time"],"values":[5]}]}]}""")]
    public async Task QueryAsync_2xxNotQueryJson_MalformedWithException(string body)
    {
        var (client, _) = Create(HttpStatusCode.OK, body);
        using var c = client;

        var answer = await client.QueryAsync("SELECT * FROM \"x\"", CancellationToken.None);

        Assert.Equal(InfluxQlFailureKind.Malformed, answer.Failure?.Kind);
        Assert.NotNull(answer.Failure?.Exception);
    }

    [Fact]
    public async Task QueryAsync_ConnectionFails_UnreachableKeepsTheException()
    {
        var handler = new RecordingHandler(_ => throw new HttpRequestException("Connection refused"));
        using var client = new InfluxQlClient("http://influx.invalid:8086", "city", "t", TimeSpan.FromSeconds(60), handler: handler);

        var answer = await client.QueryAsync("SELECT * FROM \"x\"", CancellationToken.None);

        Assert.Equal(InfluxQlFailureKind.Unreachable, answer.Failure?.Kind);
        Assert.IsType<HttpRequestException>(answer.Failure?.Exception);
    }

    private static (InfluxQlClient Client, RecordingHandler Handler) Create(HttpStatusCode status, string body)
    {
        var handler = new RecordingHandler(_ => new HttpResponseMessage(status) { Content = new StringContent(body, Encoding.UTF8, "application/json") });
        return (new InfluxQlClient("http://influx.example:8086/", "city", "read-token", TimeSpan.FromSeconds(60), "ms", handler), handler);
    }

    private sealed class RecordingHandler(Func<HttpRequestMessage, HttpResponseMessage> answer) : HttpMessageHandler
    {
        public HttpMethod? Method { get; private set; }
        public string? Path { get; private set; }
        public string? Authorization { get; private set; }
        public string Form { get; private set; } = "";

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Method = request.Method;
            Path = request.RequestUri?.AbsolutePath;
            Authorization = request.Headers.Authorization?.ToString();
            Form = request.Content is null ? "" : await request.Content.ReadAsStringAsync(cancellationToken);
            return answer(request);
        }
    }
}
