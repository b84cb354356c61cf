using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SmartCity.OpenData.Datasets;
using SmartCity.Telemetry.Alerting;

namespace SmartCity.OpenData.Publishing;

/// <summary>The files of one snapshot, rendered once when it is built: a public read only copies bytes.</summary>
public sealed record PublishedSnapshot(OpenDataSnapshot Snapshot, IReadOnlyDictionary<string, PublishedFile> Files);

/// <summary>
/// The last datasets, in memory and on disk (one JSON file per dataset): public reads are served from
/// here and never reach InfluxDB or the pipeline; a restarted worker serves the copy on disk until its
/// first rebuild.
/// </summary>
public sealed partial class OpenDataStore(IOptions<OpenDataOptions> options, IOptions<AlertingOptions> alerting, ILogger<OpenDataStore> logger)
{
    private readonly string _directory = options.Value.ResolveDirectory(alerting.Value.StateFile);
    private PublishedSnapshot? _current;

    /// <summary>Null until the first build (or a copy on disk) exists.</summary>
    public PublishedSnapshot? Current => Volatile.Read(ref _current);

    /// <summary>Raised after a new snapshot is published (the page's output cache is emptied on it).</summary>
    public event Func<Task>? Published;

    public async Task PublishAsync(OpenDataSnapshot snapshot, CancellationToken cancellationToken)
    {
        var published = Render(snapshot, options.Value.LicenceName);
        Directory.CreateDirectory(_directory);
        foreach (var table in snapshot.Tables)
        {
            // Written beside, then moved: a crash mid-write never leaves half a file to serve after a restart.
            var path = Path.Combine(_directory, table.Definition.Id + ".json");
            await File.WriteAllBytesAsync(path + ".tmp", published.Files[table.Definition.Id + ".json"].Content, cancellationToken).ConfigureAwait(false);
            File.Move(path + ".tmp", path, overwrite: true);
        }

        Volatile.Write(ref _current, published);
        if (Published is { } handlers)
        {
            await handlers().ConfigureAwait(false);
        }
    }

    /// <summary>Loads the copy on disk, if any, so the feed is served before the first rebuild.</summary>
    public void Load()
    {
        var tables = new List<DatasetTable>();
        var modified = DateTimeOffset.MinValue;
        foreach (var definition in DatasetDefinitions.All)
        {
            var path = Path.Combine(_directory, definition.Id + ".json");
            try
            {
                if (File.Exists(path))
                {
                    var (table, built) = DatasetFiles.ReadJson(definition, File.ReadAllBytes(path));
                    tables.Add(table);
                    modified = built > modified ? built : modified;
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Text.Json.JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
            {
                LogUnreadable(path, ex.Message);
            }
        }

        if (tables.Count > 0)
        {
            Volatile.Write(ref _current, Render(new OpenDataSnapshot(modified, tables), options.Value.LicenceName));
        }
    }

    private static PublishedSnapshot Render(OpenDataSnapshot snapshot, string licence)
    {
        var files = new Dictionary<string, PublishedFile>(StringComparer.Ordinal);
        foreach (var table in snapshot.Tables)
        {
            files[table.Definition.Id + ".csv"] = DatasetFiles.Csv(table);
            files[table.Definition.Id + ".json"] = DatasetFiles.Json(table, snapshot.Built, licence);
            files[table.Definition.Id + ".schema.json"] = DatasetFiles.Schema(table.Definition);
        }

        return new PublishedSnapshot(snapshot, files);
    }

    [LoggerMessage(EventId = 2301, Level = LogLevel.Warning, Message = "Open data: the copy {Path} cannot be read ({Reason}); it is rebuilt at the next refresh")]
    private partial void LogUnreadable(string path, string reason);
}
