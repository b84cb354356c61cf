using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MimeKit;
using SmartCity.Telemetry.Alerting;
using SmartCity.Telemetry.Alerting.Notifiers;
using SmartCity.Telemetry.Alerting.Notifiers.Smtp;
using SmartCity.Telemetry.Diagnostics;
using SmartCity.TestSupport;
using static SmartCity.Telemetry.Tests.Alerting.AlertTestKit;

namespace SmartCity.Telemetry.Tests.Alerting;

/// <summary>
/// The email notifier against <see cref="SmtpTestServer"/> over a real socket: what a mail looks
/// like, which failures are retried, and that the password stays out of every log line.
/// </summary>
public sealed class SmtpNotifierTests
{
    private const string User = "alerts@city.test";
    private const string Password = "S3cret-smtp-Pa55";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task OnTransition_RaisedCriticalDoorForced_SendsExactlyOneMailWithSenderRecipientsSubjectAndDetails()
    {
        await using var server = new SmtpTestServer(username: User, password: Password);
        var logs = new TestLogs();
        var notifier = Notifier(server, logs, o => o.ApiBaseUrl = "https://ops.city.test/");
        using var kit = new AlertTestKit();
        var raised = Assert.Single(kit.Observe(DoorEvent(kit.Now, "forced", "door-0001"), "door_contact"));
        kit.Advance(TimeSpan.FromMinutes(1));
        var acknowledged = kit.Engine.Acknowledge(raised.Alert.Id, "anna.operator", "on my way").Transition!;
        var commented = kit.Engine.Comment(raised.Alert.Id, "anna.operator", "door secured").Transition!;

        await notifier.OnTransitionAsync(raised, CancellationToken.None);
        // Acknowledgements and comments are not mailed by default.
        await notifier.OnTransitionAsync(acknowledged, CancellationToken.None);
        await notifier.OnTransitionAsync(commented, CancellationToken.None);

        var mail = Assert.Single(server.Mails);
        Assert.Equal(1, server.Connections);
        Assert.Equal((User, Password), Assert.Single(server.Logins));
        Assert.Equal("alerts@city.test", mail.From);
        Assert.Equal(["ops@city.test", "security@city.test"], mail.To);
        var message = MimeMessage.Load(new MemoryStream(mail.Data));
        Assert.Equal("SmartCity alerts", Assert.Single(message.From.Mailboxes).Name);
        Assert.Equal(["ops@city.test", "security@city.test"], message.To.Mailboxes.Select(m => m.Address));
        Assert.Equal("[SmartCity] CRITICAL door_forced raised at door-0001 (north/town-hall)", message.Subject);
        Assert.Equal(raised.Alert.Id, message.Headers["X-SmartCity-Alert"]);
        var body = message.TextBody;
        Assert.Contains("Alert door_forced on door-0001 was raised at 2026-11-25 12:00:00 UTC.", body);
        Assert.Contains(raised.Alert.Id, body);
        Assert.Contains("critical", body);
        Assert.Contains("security / north / town-hall", body);
        Assert.Contains("History:", body);
        Assert.Contains("2026-11-25 12:00:00 UTC  raised", body);
        Assert.Contains($"Details and actions: https://ops.city.test/api/alerts/{raised.Alert.Id}", body);
        Assert.DoesNotContain(logs.Entries, e => e.Level >= LogLevel.Warning);
        Assert.Single(logs.Entries, e => e.EventId == 6111 && e.Message.Contains(raised.Alert.Id, StringComparison.Ordinal) && e.Message.Contains("2 recipient", StringComparison.Ordinal));
    }

    [Fact]
    public async Task OnTransition_ResolvedAfterAcknowledge_MailCarriesWhoAndTheHistory()
    {
        await using var server = new SmtpTestServer();
        var notifier = Notifier(server, new TestLogs(), o => o.Username = o.Password = null);
        using var kit = new AlertTestKit();
        var raised = Assert.Single(kit.Observe(DoorEvent(kit.Now, "forced", "door-0001"), "door_contact"));
        kit.Advance(TimeSpan.FromMinutes(1));
        kit.Engine.Acknowledge(raised.Alert.Id, "anna.operator", "on my way");
        kit.Advance(TimeSpan.FromMinutes(1));
        var resolved = kit.Engine.Resolve(raised.Alert.Id, "bob.guard", "door secured").Transition!;

        await notifier.OnTransitionAsync(resolved, CancellationToken.None);

        var message = MimeMessage.Load(new MemoryStream(Assert.Single(server.Mails).Data));
        Assert.Equal("[SmartCity] CRITICAL door_forced resolved at door-0001 (north/town-hall)", message.Subject);
        Assert.Contains("by anna.operator at 2026-11-25 12:01:00 UTC: on my way", message.TextBody);
        Assert.Contains("2026-11-25 12:02:00 UTC  resolved by bob.guard: door secured", message.TextBody);
        Assert.DoesNotContain("Details and actions", message.TextBody);   // no ApiBaseUrl configured
        Assert.Empty(server.Logins);
    }

    [Theory]
    [InlineData(451)]
    [InlineData(421)]   // the server also closes the connection
    public async Task OnTransition_TransientReplyTwice_RetriedAndDeliveredOnce(int code)
    {
        await using var server = new SmtpTestServer(failFirst: 2, failCode: code, username: User, password: Password);
        var logs = new TestLogs();
        var notifier = Notifier(server, logs);

        await notifier.OnTransitionAsync(Raised(), CancellationToken.None);

        Assert.Single(server.Mails);
        Assert.Equal(3, server.Transactions);
        Assert.Equal(2, server.Refused);
        Assert.Equal(2, logs.Entries.Count(e => e.EventId == 6110 && e.Message.Contains("SMTP", StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData(550)]
    [InlineData(554)]
    public async Task OnTransition_PermanentReply_NotRetriedAndReported(int code)
    {
        await using var server = new SmtpTestServer(failFirst: 10, failCode: code, username: User, password: Password);
        var notifier = Notifier(server, new TestLogs());

        var ex = await Assert.ThrowsAsync<SmtpCommandException>(() => notifier.OnTransitionAsync(Raised(), CancellationToken.None).AsTask());

        Assert.Equal(code, (int)ex.StatusCode);
        Assert.Equal(1, server.Transactions);
        Assert.Equal(1, server.Connections);
        Assert.Empty(server.Mails);
    }

    [Fact]
    public async Task OnTransition_ServerDown_RetriedBoundedThenReported()
    {
        int port;
        await using (var gone = new SmtpTestServer())
        {
            port = gone.Port;
        }

        var logs = new TestLogs();
        var notifier = new SmtpNotifier(Options.Create(new SmtpOptions
        {
            Host = "127.0.0.1",
            Port = port,
            From = "alerts@city.test",
            To = ["ops@city.test"],
            Retries = 2,
            RetryDelay = TimeSpan.FromMilliseconds(5),
        }), TimeProvider.System, logs.For<SmtpNotifier>());

        await Assert.ThrowsAnyAsync<Exception>(() => notifier.OnTransitionAsync(Raised(), CancellationToken.None).AsTask());

        Assert.Equal(2, logs.Entries.Count(e => e.EventId == 6110));
    }

    [Fact]
    public async Task Logs_RetriesAndRejectedLogin_NeverContainThePassword()
    {
        // A retried send that then succeeds, and a login the server rejects (535: permanent), both through the notifier queue.
        await using var flaky = new SmtpTestServer(failFirst: 1, failCode: 451, username: User, password: Password);
        await using var strict = new SmtpTestServer(username: User, password: "the-right-one");
        var logs = new TestLogs();
        var queueOptions = new NotifierQueueOptions();
        await using (var q1 = new QueuedAlertNotifier(Notifier(flaky, logs), queueOptions, logs.For<QueuedAlertNotifier>()))
        await using (var q2 = new QueuedAlertNotifier(Notifier(strict, logs), queueOptions, logs.For<QueuedAlertNotifier>()))
        {
            await q1.OnTransitionAsync(Raised(), CancellationToken.None);
            await q2.OnTransitionAsync(Raised(), CancellationToken.None);
            await q1.StopAsync(CancellationToken.None);
            await q2.StopAsync(CancellationToken.None);
            Assert.Equal(1, q1.Delivered);
            Assert.Equal(1, q2.Failed);
        }

        Assert.Single(flaky.Mails);
        Assert.Empty(strict.Mails);
        Assert.Equal(0, strict.Transactions);   // 535 is not retried and nothing is sent without a login
        Assert.Contains(logs.Entries, e => e.EventId == 6110);
        Assert.Contains(logs.Entries, e => e.EventId == 6101 && e.Message.Contains("535", StringComparison.Ordinal));
        Assert.All(logs.Entries, e => Assert.DoesNotContain(Password, e.Message, StringComparison.Ordinal));
    }

    [Fact]
    public async Task OnTransition_FilteredBySeverityKindOrFlapping_NoConnection()
    {
        await using var server = new SmtpTestServer(username: User, password: Password);
        var criticalOnly = Notifier(server, new TestLogs(), o => o.MinimumSeverity = AlertSeverity.Critical);
        var major = Raised() with { Alert = Raised().Alert with { Severity = AlertSeverity.Major } };
        var acknowledged = Raised() with { Entry = new AlertHistoryEntry(AlertTransitionKind.Acknowledged, Noon, "anna") };
        var suppressed = Raised() with { Suppressed = true };

        await criticalOnly.OnTransitionAsync(major, CancellationToken.None);
        await criticalOnly.OnTransitionAsync(acknowledged, CancellationToken.None);
        await criticalOnly.OnTransitionAsync(suppressed, CancellationToken.None);
        Assert.Equal(0, server.Connections);

        var withAcks = Notifier(server, new TestLogs(), o => o.Transitions = [AlertTransitionKind.Acknowledged]);
        await withAcks.OnTransitionAsync(acknowledged, CancellationToken.None);
        await withAcks.OnTransitionAsync(Raised(), CancellationToken.None);
        Assert.Single(server.Mails);
    }

    [Fact]
    public async Task OnTransition_NoHost_DisabledAndSilent()
    {
        var notifier = new SmtpNotifier(Options.Create(new SmtpOptions()), TimeProvider.System, new TestLogs().For<SmtpNotifier>());

        await notifier.OnTransitionAsync(Raised(), CancellationToken.None);

        Assert.False(notifier.Enabled);
    }

    [Fact]
    public void Validate_Settings_EveryProblemNamedWithItsKey()
    {
        var validator = new SectionValidator<SmtpOptions>(SmtpOptions.SectionName);
        Assert.True(validator.Validate(null, new SmtpOptions()).Succeeded);   // disabled: nothing required

        var bad = validator.Validate(null, new SmtpOptions { Host = "smtp.city.test", Security = SmtpSecurity.None, Username = "u", From = "not an address", To = [] });
        Assert.True(bad.Failed);
        Assert.Contains(bad.Failures!, f => f.StartsWith("Alerting:Smtp:From:", StringComparison.Ordinal));
        Assert.Contains(bad.Failures!, f => f.StartsWith("Alerting:Smtp:To:", StringComparison.Ordinal));
        Assert.Contains(bad.Failures!, f => f.StartsWith("Alerting:Smtp:Password:", StringComparison.Ordinal));
        Assert.Contains(bad.Failures!, f => f.StartsWith("Alerting:Smtp:Security:", StringComparison.Ordinal));

        Assert.Equal(SmtpSecurity.StartTls, new SmtpOptions { Host = "smtp.city.test" }.EffectiveSecurity);
        Assert.Equal(SmtpSecurity.None, new SmtpOptions { Host = "127.0.0.1" }.EffectiveSecurity);
        Assert.Equal(SmtpSecurity.Tls, new SmtpOptions { Host = "localhost", Security = SmtpSecurity.Tls }.EffectiveSecurity);
    }

    [Fact]
    public void Bind_EmptyValuesAsDockerComposePassesThem_DisabledOrValidWithCommaSeparatedRecipients()
    {
        var validator = new SectionValidator<SmtpOptions>(SmtpOptions.SectionName);
        var unset = Bind(new() { ["Host"] = "", ["Security"] = "", ["Username"] = "", ["Password"] = "", ["From"] = "", ["To:0"] = "", ["ApiBaseUrl"] = "" });
        Assert.False(unset.Enabled);
        Assert.Null(unset.Security);
        Assert.True(validator.Validate(null, unset).Succeeded);

        var set = Bind(new()
        {
            ["Host"] = "smtp.city.test", ["Security"] = "tls", ["Username"] = "", ["Password"] = "", ["ApiBaseUrl"] = "",
            ["From"] = "SmartCity <alerts@city.test>", ["To:0"] = "ops@city.test, Security desk <security@city.test>",
            ["Transitions:0"] = "raised", ["MinimumSeverity"] = "major",
        });
        Assert.True(validator.Validate(null, set).Succeeded, string.Join("; ", validator.Validate(null, set).Failures ?? []));
        Assert.Equal(["ops@city.test", "security@city.test"], set.Recipients.Select(r => r.Address));
        Assert.False(set.HasLogin);
        Assert.False(set.HasApiLink);
        Assert.Equal(SmtpSecurity.Tls, set.EffectiveSecurity);
        Assert.Equal([AlertTransitionKind.Raised], set.EffectiveTransitions);
        Assert.Equal(AlertSeverity.Major, set.MinimumSeverity);

        static SmtpOptions Bind(Dictionary<string, string?> values) => new ConfigurationBuilder()
            .AddInMemoryCollection(values.ToDictionary(kv => SmtpOptions.SectionName + ":" + kv.Key, kv => kv.Value))
            .Build().GetSection(SmtpOptions.SectionName).Get<SmtpOptions>()!;
    }

    [Fact]
    public void IsTransient_ClassifiesRepliesAndNetworkErrors()
    {
        Assert.True(SmtpNotifier.IsTransient(new SmtpCommandException(SmtpErrorCode.SenderNotAccepted, SmtpStatusCode.MailboxBusy, "busy")));
        Assert.True(SmtpNotifier.IsTransient(new SmtpCommandException(SmtpErrorCode.UnexpectedStatusCode, SmtpStatusCode.ServiceNotAvailable, "421")));
        Assert.False(SmtpNotifier.IsTransient(new SmtpCommandException(SmtpErrorCode.RecipientNotAccepted, SmtpStatusCode.MailboxUnavailable, "550")));
        Assert.False(SmtpNotifier.IsTransient(new AuthenticationException("535")));
        Assert.True(SmtpNotifier.IsTransient(new System.Net.Sockets.SocketException((int)System.Net.Sockets.SocketError.ConnectionRefused)));
        Assert.True(SmtpNotifier.IsTransient(new TimeoutException()));
        Assert.False(SmtpNotifier.IsTransient(new InvalidOperationException()));
    }

    private static SmtpNotifier Notifier(SmtpTestServer server, TestLogs logs, Action<SmtpOptions>? configure = null)
    {
        var options = new SmtpOptions
        {
            Host = server.Host,
            Port = server.Port,
            Username = User,
            Password = Password,
            From = "SmartCity alerts <alerts@city.test>",
            To = ["ops@city.test", "security@city.test"],
            RetryDelay = TimeSpan.FromMilliseconds(5),
            Timeout = TimeSpan.FromSeconds(20),
        };
        configure?.Invoke(options);
        return new SmtpNotifier(Options.Create(options), TimeProvider.System, logs.For<SmtpNotifier>());
    }

    private static AlertTransition Raised() => QueuedAlertSinkTests.T(1);
}
