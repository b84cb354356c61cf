namespace SmartCity.OpenData.Datasets;

/// <summary>A column as Table Schema describes it (frictionlessdata.io): name, type, titles, unit.</summary>
/// <param name="Type"><c>string</c>, <c>integer</c>, <c>number</c> or <c>date</c>.</param>
public sealed record DatasetColumn(string Name, string Type, string TitleEn, string TitleFr, string Description, string? Unit = null);

/// <summary>What a dataset is, for the catalog and the page.</summary>
public sealed record DatasetDefinition(
    string Id,
    string TitleEn,
    string TitleFr,
    string DescriptionEn,
    string DescriptionFr,
    IReadOnlyList<DatasetColumn> Columns,
    IReadOnlyList<string> PrimaryKey);

/// <summary>
/// One built dataset: its rows (values in column order: string, long, double or null) and how many
/// groups were left out because they were smaller than the minimum group size.
/// </summary>
public sealed record DatasetTable(DatasetDefinition Definition, IReadOnlyList<object?[]> Rows, int SuppressedGroups);

/// <summary>Every dataset of one refresh, and when it was built.</summary>
public sealed record OpenDataSnapshot(DateTimeOffset Built, IReadOnlyList<DatasetTable> Tables)
{
    public DatasetTable? Find(string id) => Tables.FirstOrDefault(t => t.Definition.Id == id);
}
