namespace SmartCity.IntegrationTests.Infrastructure;

/// <summary>The repository's committed files, for tests that check what ships (compose, Dockerfiles, docs).</summary>
public static class RepositoryFiles
{
    /// <summary>The folder holding docker-compose.yml, found upwards from the test binaries.</summary>
    public static string Root
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "docker-compose.yml")))
            {
                dir = dir.Parent;
            }

            return dir?.FullName ?? throw new DirectoryNotFoundException("repository root (docker-compose.yml) not found above " + AppContext.BaseDirectory);
        }
    }

    public static string ReadAllText(string relativePath) => File.ReadAllText(Path.Combine(Root, relativePath));
}
