using SmartCity.Provisioning;
using SmartCity.Tests.CommandLine;

namespace SmartCity.Telemetry.Tests.Provisioning;

/// <summary>smartcity-provision's command line through its real entry point: help, version, errors, and the documented invocations.</summary>
public sealed class ProvisionCommandLineTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("smartcity-provision-cli-").FullName;

    private string PasswordFile => Path.Combine(_dir, "passwd");

    private string AclFile => Path.Combine(_dir, "acl");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static async Task<(int Code, string Out, string Err)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await ProvisionCommand.RunAsync(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    [InlineData("device", "--help")]
    [InlineData("device", "add", "--help")]
    [InlineData("device", "list", "--help")]
    [InlineData("device", "revoke", "-h")]
    public async Task RunAsync_Help_UsageOnStdoutExitZero(params string[] args) =>
        CommandLineAssert.Help(await RunAsync(args), string.Join(' ', ["smartcity-provision", .. args.SkipLast(1)]));

    [Fact]
    public async Task RunAsync_AddHelp_ListsItsOptionsAndTheFileOptions() =>
        CommandLineAssert.Lists((await RunAsync("device", "add", "--help")).Out, "--sector", "--district", "--site", "--type", "--password-out", "--password-file", "--acl-file", "--root", "--reload-pid-file", "--reload-command");

    [Fact]
    public async Task RunAsync_Version_PrintsTheAssemblyVersionExitZero() =>
        CommandLineAssert.Version(await RunAsync("--version"), typeof(ProvisionCommand).Assembly);

    [Theory]
    [InlineData("--sectr", "device", "add", "lamp-1", "--sectr", "lighting", "--district", "d01", "--site", "s", "--type", "streetlight")]
    [InlineData("--type", "device", "add", "lamp-1", "--sector", "lighting", "--district", "d01", "--site", "s")]
    [InlineData("--password-file", "--password-file")]
    [InlineData("ID", "device", "revoke")]
    [InlineData("frobnicate", "device", "frobnicate")]
    [InlineData("command")]
    public async Task RunAsync_BadCommandLine_ExitsTwoNamingTheProblem(string named, params string[] args) =>
        CommandLineAssert.UsageError(await RunAsync(args), ProvisionCommand.UsageExitCode, named);

    /// <summary>README and docs/security.md: the file options before "device add", the device's options after; --root anywhere.</summary>
    [Fact]
    public async Task RunAsync_DocumentedAddListRevoke_WorkOnTheFiles()
    {
        var passwordOut = Path.Combine(_dir, "lamp-000123.password");
        string[] files = ["--password-file", PasswordFile, "--acl-file", AclFile];

        var added = await RunAsync([.. files, "device", "add", "lamp-000123", "--sector", "lighting", "--district", "d01", "--site", "d01-street-004",
            "--type", "streetlight", "--password-out", passwordOut, "--root", "town"]);
        Assert.True(added.Code == 0, added.Err);
        Assert.Contains("may publish town/lighting/d01/d01-street-004/streetlight/lamp-000123/{telemetry,status,event}", added.Out, StringComparison.Ordinal);
        Assert.Contains("password written to " + passwordOut, added.Out, StringComparison.Ordinal);
        Assert.True(MosquittoPasswordFile.Verify(File.ReadAllLines(PasswordFile).Single(), File.ReadAllText(passwordOut).Trim()));

        var listed = await RunAsync(["device", "list", .. files]);
        var revoked = await RunAsync([.. files, "device", "revoke", "lamp-000123"]);

        Assert.Equal(0, listed.Code);
        Assert.Contains("topic write town/lighting/d01/d01-street-004/streetlight/lamp-000123/telemetry", listed.Out, StringComparison.Ordinal);
        Assert.Equal(0, revoked.Code);
        Assert.Contains("revoked lamp-000123 (broker NOT reloaded", revoked.Out, StringComparison.Ordinal);
    }
}
