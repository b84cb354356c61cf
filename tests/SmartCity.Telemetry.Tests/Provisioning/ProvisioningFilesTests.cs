using SmartCity.Provisioning;

namespace SmartCity.Telemetry.Tests.Provisioning;

/// <summary>smartcity-provision's edits of mosquitto's password and ACL files, on temporary files.</summary>
public sealed class ProvisioningFilesTests : IDisposable
{
    /// <summary>Written by mosquitto_passwd 2.0.11 (`mosquitto_passwd -b FILE dev1 secret`).</summary>
    private const string MosquittoLine = "dev1:$7$101$GgvTXhs6dPwbMWzU$vwKeot9BcpgSj4CliE1/CKwmtWemjzE1sW1v3mTRza7q7N/sZs/nJfhV/zIDHicHwoZ1xIqidf4WMJiiB96gcA==";

    private const string HandWrittenAcl = """
        # hand-written rules
        pattern write city/+/+/+/+/%u/telemetry

        user smartcity-worker
        topic read city/#

        """;

    private static readonly DevicePlacement Placement = new("city", "lighting", "d01", "street-4", "streetlight");

    private readonly string _dir = Directory.CreateTempSubdirectory("smartcity-provision-").FullName;

    private string PasswordFile => Path.Combine(_dir, "passwd");

    private string AclFile => Path.Combine(_dir, "acl");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Verify_LineWrittenByMosquittoPasswd_AcceptsItsPasswordOnly()
    {
        Assert.True(MosquittoPasswordFile.Verify(MosquittoLine, "secret"));
        Assert.False(MosquittoPasswordFile.Verify(MosquittoLine, "Secret"));
        Assert.False(MosquittoPasswordFile.Verify("dev1:$6$abc$def", "secret"));
    }

    [Fact]
    public void HashLine_MosquittoFormat_VerifiesAndSaltsEachTime()
    {
        var line = MosquittoPasswordFile.HashLine("lamp-1", "pw");
        Assert.Matches(@"^lamp-1:\$7\$101\$[A-Za-z0-9+/]{16}\$[A-Za-z0-9+/]{86}==$", line);
        Assert.True(MosquittoPasswordFile.Verify(line, "pw"));
        Assert.NotEqual(line, MosquittoPasswordFile.HashLine("lamp-1", "pw"));
    }

    [Fact]
    public void PasswordFile_UpsertAndRemove_KeepOtherLinesAsTheyWere()
    {
        var content = "# accounts\n" + MosquittoLine + "\nworker:$7$101$x$y\n";
        var added = MosquittoPasswordFile.Upsert(content, "lamp-1:$7$101$a$b");
        Assert.Equal(content + "lamp-1:$7$101$a$b\n", added);
        Assert.Equal(["dev1", "worker", "lamp-1"], MosquittoPasswordFile.Users(added));
        Assert.Equal(content, MosquittoPasswordFile.Remove(added, "lamp-1"));
        Assert.Equal("# accounts\ndev1:new\nworker:$7$101$x$y\n", MosquittoPasswordFile.Upsert(content, "dev1:new"));
    }

    [Fact]
    public void Acl_AddThenRemove_GivesBackTheFileByteForByte()
    {
        var added = MosquittoAclFile.Add(HandWrittenAcl, "lamp-1", Placement);
        Assert.StartsWith(HandWrittenAcl, added, StringComparison.Ordinal);
        Assert.Contains("""
            # smartcity-provision begin lamp-1
            user lamp-1
            topic write city/lighting/d01/street-4/streetlight/lamp-1/telemetry
            topic write city/lighting/d01/street-4/streetlight/lamp-1/status
            topic write city/lighting/d01/street-4/streetlight/lamp-1/event
            topic read city/lighting/d01/street-4/streetlight/lamp-1/cmd
            # smartcity-provision end lamp-1
            """, added, StringComparison.Ordinal);
        var two = MosquittoAclFile.Add(added, "lamp-2", Placement with { Root = "t1/city" });
        Assert.Equal(["lamp-1", "lamp-2"], MosquittoAclFile.Devices(two).Select(d => d.DeviceId));
        Assert.Contains("topic write t1/city/lighting/d01/street-4/streetlight/lamp-2/telemetry", MosquittoAclFile.Devices(two)[1].Lines);

        Assert.True(MosquittoAclFile.TryRemove(two, "lamp-2", out var one));
        Assert.Equal(added, one);
        Assert.True(MosquittoAclFile.TryRemove(one, "lamp-1", out var none));
        Assert.Equal(HandWrittenAcl, none);
        Assert.False(MosquittoAclFile.TryRemove(none, "lamp-1", out _));
    }

    [Fact]
    public void Acl_AddTwice_Refused() =>
        Assert.Throws<ProvisioningException>(() => MosquittoAclFile.Add(MosquittoAclFile.Add("", "lamp-1", Placement), "lamp-1", Placement));

    [Theory]
    [InlineData("# smartcity-provision begin lamp-1\nuser lamp-1\n")]
    [InlineData("user lamp-1\n# smartcity-provision end lamp-1\n")]
    [InlineData("# smartcity-provision begin lamp-1\n# smartcity-provision begin lamp-2\n# smartcity-provision end lamp-2\n# smartcity-provision end lamp-1\n")]
    public void Acl_BrokenMarkers_RefusedWithoutTouchingTheFile(string content)
    {
        Assert.Throws<ProvisioningException>(() => MosquittoAclFile.TryRemove(content, "lamp-1", out _));
        Assert.Throws<ProvisioningException>(() => MosquittoAclFile.Add(content, "lamp-3", Placement));
    }

    [Theory]
    [InlineData("lamp 1")]
    [InlineData("lamp+1")]
    [InlineData("lamp#")]
    [InlineData("lamp/1")]
    [InlineData("")]
    [InlineData("lämp")]
    public async Task Add_DeviceIdOutsideTheContract_Refused(string id)
    {
        var store = new DeviceStore(PasswordFile, AclFile);
        await Assert.ThrowsAsync<ProvisioningException>(() => store.AddAsync(id, Placement, "pw", CancellationToken.None));
        Assert.False(File.Exists(PasswordFile));
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task Store_AddListRevoke_FilesStayPrivateAndNoTemporaryFilesRemain()
    {
        await File.WriteAllTextAsync(AclFile, HandWrittenAcl);
        File.SetUnixFileMode(AclFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var store = new DeviceStore(PasswordFile, AclFile);

        await store.AddAsync("lamp-1", Placement, "pw-1", CancellationToken.None);
        var device = Assert.Single(store.List());
        Assert.Equal("lamp-1", device.DeviceId);
        Assert.True(device.HasPassword);
        Assert.True(MosquittoPasswordFile.Verify(File.ReadAllLines(PasswordFile).Single(), "pw-1"));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(PasswordFile));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(AclFile));
        await Assert.ThrowsAsync<ProvisioningException>(() => store.AddAsync("lamp-1", Placement, "pw-2", CancellationToken.None));

        Assert.True(await store.RevokeAsync("lamp-1", CancellationToken.None));
        Assert.Empty(store.List());
        Assert.Equal("", await File.ReadAllTextAsync(PasswordFile));
        Assert.Equal(HandWrittenAcl, await File.ReadAllTextAsync(AclFile));
        Assert.False(await store.RevokeAsync("lamp-1", CancellationToken.None));
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp"));
    }

    [Fact]
    public async Task Revoke_AccountNotMadeByTheTool_LeftAlone()
    {
        await File.WriteAllTextAsync(PasswordFile, MosquittoPasswordFile.HashLine("smartcity-worker", "pw") + "\n");
        var before = await File.ReadAllTextAsync(PasswordFile);
        var store = new DeviceStore(PasswordFile, AclFile);
        await Assert.ThrowsAsync<ProvisioningException>(() => store.RevokeAsync("smartcity-worker", CancellationToken.None));
        Assert.Equal(before, await File.ReadAllTextAsync(PasswordFile));
        await Assert.ThrowsAsync<ProvisioningException>(() => store.AddAsync("smartcity-worker", Placement, "x", CancellationToken.None));
    }

    [Fact]
    public async Task Store_ManyAddsAtOnce_NoneLost()
    {
        var store = new DeviceStore(PasswordFile, AclFile);
        var ids = Enumerable.Range(0, 40).Select(i => $"lamp-{i:000}").ToList();
        await Task.WhenAll(ids.Select(id => Task.Run(() => new DeviceStore(PasswordFile, AclFile).AddAsync(id, Placement, "pw", CancellationToken.None))));
        Assert.Equal(ids, store.List().Select(d => d.DeviceId).Order(StringComparer.Ordinal));
        Assert.All(store.List(), d => Assert.True(d.HasPassword));
    }

    [Fact]
    public async Task Command_AddListRevoke_PrintsThePasswordOnceAndExitCodes()
    {
        string[] files = ["--password-file", PasswordFile, "--acl-file", AclFile];
        var (exit, output, _) = await RunAsync([.. files, "device", "add", "lamp-7", "--sector", "lighting", "--district", "d01", "--site", "s", "--type", "streetlight"]);
        Assert.Equal(0, exit);
        var password = output.Split('\n').Single(l => l.StartsWith("password (shown once", StringComparison.Ordinal)).Split(": ")[1].Trim();
        Assert.Equal(32, password.Length);
        Assert.True(MosquittoPasswordFile.Verify(File.ReadAllLines(PasswordFile).Single(), password));
        Assert.Contains("broker NOT reloaded", output, StringComparison.Ordinal);

        Assert.Contains("lamp-7\tpassword:yes", (await RunAsync([.. files, "device", "list"])).Output, StringComparison.Ordinal);
        Assert.Equal(2, (await RunAsync([.. files, "device", "add", "lamp-8"])).Exit);             // --sector etc. missing
        Assert.Equal(2, (await RunAsync(["device", "list"])).Exit);                               // files missing
        Assert.Equal(2, (await RunAsync([.. files, "device", "frobnicate"])).Exit);
        Assert.Equal(1, (await RunAsync([.. files, "device", "add", "lamp-7", "--sector", "lighting", "--district", "d01", "--site", "s", "--type", "streetlight"])).Exit);
        Assert.Equal(0, (await RunAsync([.. files, "device", "revoke", "lamp-7"])).Exit);
        Assert.Equal(1, (await RunAsync([.. files, "device", "revoke", "lamp-7"])).Exit);
    }

    private static async Task<(int Exit, string Output, string Error)> RunAsync(string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await ProvisionCommand.RunAsync(args, output, error);
        return (exit, output.ToString(), error.ToString());
    }
}
