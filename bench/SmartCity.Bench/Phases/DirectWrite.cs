using System.Net.Http.Headers;
using System.Text;

namespace SmartCity.Bench.Phases;

/// <summary>
/// Line protocol posted straight to the URL the worker writes to (the v2 write API; on 1.x the nginx
/// shim in front of influxd), with a bare HttpClient: the database's own figures, without the worker.
/// </summary>
internal static class DirectWrite
{
    /// <summary>The request bodies, <paramref name="linesPerBody"/> lines each, built before any clock starts.</summary>
    public static List<byte[]> Bodies(IReadOnlyList<string> lines, int linesPerBody)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(linesPerBody, 1);
        var bodies = new List<byte[]>();
        for (var i = 0; i < lines.Count; i += linesPerBody)
        {
            bodies.Add(Encoding.UTF8.GetBytes(string.Join('\n', lines.Skip(i).Take(Math.Min(linesPerBody, lines.Count - i)))));
        }

        return bodies;
    }

    public static Uri WriteUri(string influxUrl, string org, string bucket) =>
        new($"{influxUrl.TrimEnd('/')}/api/v2/write?org={Uri.EscapeDataString(org)}&bucket={Uri.EscapeDataString(bucket)}&precision=ns");

    /// <summary>One write; anything but 2xx is an error of the benchmark.</summary>
    public static async Task PostAsync(HttpClient http, Uri uri, string token, byte[] body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, uri) { Content = new ByteArrayContent(body) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Token", token);
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("text/plain") { CharSet = "utf-8" };
        using var response = await http.SendAsync(request);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"InfluxDB answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }
    }
}
