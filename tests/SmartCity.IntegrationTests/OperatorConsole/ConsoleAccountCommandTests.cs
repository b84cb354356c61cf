using SmartCity.OperatorConsole;
using SmartCity.OperatorConsole.Accounts;
using SmartCity.Tests.CommandLine;

namespace SmartCity.IntegrationTests.OperatorConsole;

/// <summary>The first-admin bootstrap: <c>SmartCity.Worker console add-user</c> with the password on standard input.</summary>
public sealed class ConsoleAccountCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("smartcity-console-users-").FullName;

    private string File => Path.Combine(_dir, "console-users.json");

    [Fact]
    public async Task AddUser_PasswordOnStdin_SavedHashedOwnerOnlyAndLogsIn()
    {
        var run = await RunAsync("a-long-password-42\n", "add-user", "--name", "anna.dupont", "--role", "admin", "--users-file", File);
        Assert.True(run.Code == 0, run.Err);
        Assert.Contains("account 'anna.dupont' (admin) saved", run.Out, StringComparison.Ordinal);

        var stored = await System.IO.File.ReadAllTextAsync(File);
        Assert.Contains("anna.dupont", stored, StringComparison.Ordinal);
        Assert.DoesNotContain("a-long-password-42", stored, StringComparison.Ordinal);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, System.IO.File.GetUnixFileMode(File));
        }

        using var store = new AccountStore(File, 5, TimeSpan.FromMinutes(15), TimeProvider.System);
        var (outcome, account) = store.Verify("anna.dupont", "a-long-password-42");
        Assert.Equal(LoginOutcome.Success, outcome);
        Assert.Equal(ConsoleRoles.Admin, account!.Role);
        Assert.Equal(LoginOutcome.Refused, store.Verify("anna.dupont", "a-long-password-43").Outcome);

        var list = await RunAsync("", "list-users", "--users-file", File);
        Assert.Equal(0, list.Code);
        Assert.Equal("anna.dupont\tadmin", list.Out.Trim());
    }

    [Fact]
    public async Task AddUser_WithCityAndDistricts_SavedWithTheScopeAndListed()
    {
        var run = await RunAsync("a-long-password-42\n", "add-user", "--name", "dora.north", "--role", "operator", "--city", "lyon", "--districts", "d01,d02", "--districts", "d03", "--users-file", File);
        Assert.True(run.Code == 0, run.Err);
        Assert.Contains("account 'dora.north' (operator, city lyon, districts d01 d02 d03) saved", run.Out, StringComparison.Ordinal);

        using var store = new AccountStore(File, 5, TimeSpan.FromMinutes(15), TimeProvider.System);
        var (outcome, account) = store.Verify("dora.north", "a-long-password-42");
        Assert.Equal(LoginOutcome.Success, outcome);
        Assert.Equal("lyon", account!.City);
        Assert.Equal(["d01", "d02", "d03"], account.Districts);
        Assert.Equal("dora.north\toperator, city lyon, districts d01 d02 d03", (await RunAsync("", "list-users", "--users-file", File)).Out.Trim());
    }

    [Fact]
    public async Task AddUser_DistrictNotATopicLevel_RefusedWithUsageCodeAndNothingSaved()
    {
        var run = await RunAsync("a-long-password-42\n", "add-user", "--name", "dora", "--role", "viewer", "--districts", "d01/#", "--users-file", File);
        Assert.Equal(AccountCommand.UsageExitCode, run.Code);
        Assert.Contains("district 'd01/#'", run.Err, StringComparison.Ordinal);
        Assert.False(System.IO.File.Exists(File));
    }

    [Theory]
    [InlineData("short\n", "anna", "admin", "at least 10 characters")]
    [InlineData("a-long-password-42\n", "anna dupont", "admin", "the name must be")]
    [InlineData("\n", "anna", "operator", "at least 10 characters")]
    public async Task AddUser_BadNameOrPassword_RefusedWithUsageCodeAndNothingSaved(string stdin, string name, string role, string expected)
    {
        var run = await RunAsync(stdin, "add-user", "--name", name, "--role", role, "--users-file", File);
        Assert.Equal(AccountCommand.UsageExitCode, run.Code);
        Assert.Contains(expected, run.Err, StringComparison.Ordinal);
        Assert.False(System.IO.File.Exists(File));
    }

    [Fact]
    public async Task AddUser_UnknownRole_UsageError()
    {
        var run = await RunAsync("a-long-password-42\n", "add-user", "--name", "anna", "--role", "root", "--users-file", File);
        Assert.Equal(AccountCommand.UsageExitCode, run.Code);
        Assert.Contains("root", run.Err, StringComparison.Ordinal);
        Assert.False(System.IO.File.Exists(File));
    }

    [Fact]
    public async Task Help_ListsTheCommands()
    {
        var run = await RunAsync("", "--help");
        CommandLineAssert.Help(run, "console");
        CommandLineAssert.Lists(run.Out, "add-user", "list-users", "--users-file");
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static async Task<(int Code, string Out, string Err)> RunAsync(string stdin, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await AccountCommand.RunAsync(args, AppContext.BaseDirectory, new StringReader(stdin), output, error);
        return (code, output.ToString(), error.ToString());
    }
}
