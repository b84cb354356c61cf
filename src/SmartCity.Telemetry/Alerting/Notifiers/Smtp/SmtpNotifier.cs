using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MimeKit;
using Polly;
using Polly.Retry;
using SmartCity.Telemetry.Alerting.Notifiers;
using SmartCity.Telemetry.Diagnostics;

namespace SmartCity.Telemetry.Alerting.Notifiers.Smtp;

/// <summary>How the SMTP connection is protected.</summary>
public enum SmtpSecurity
{
    /// <summary>No TLS: only for a relay on this host (loopback); refused with credentials to any other host.</summary>
    None,

    /// <summary>Plain connection upgraded with STARTTLS (usually port 587); fails if the server does not offer it.</summary>
    StartTls,

    /// <summary>TLS from the first byte (usually port 465).</summary>
    Tls,
}

/// <summary>Who gets an email for which alert transitions, through which SMTP server.</summary>
public sealed class SmtpOptions : IValidatableObject
{
    public const string SectionName = "Alerting:Smtp";

    /// <summary>SMTP server; none = no email.</summary>
    public string? Host { get; set; }

    /// <value>The default value is 587 (submission with STARTTLS).</value>
    [Range(1, 65535)]
    public int Port { get; set; } = 587;

    /// <summary>
    /// Transport protection. Unset = <see cref="SmtpSecurity.None"/> for a loopback host (a local relay)
    /// and <see cref="SmtpSecurity.StartTls"/> (required, not opportunistic) for any other host, so a
    /// password and alert details never cross a network in clear text unless someone asks for it.
    /// </summary>
    public SmtpSecurity? Security { get; set; }

    /// <summary>Login; none (or empty) = no AUTH.</summary>
    public string? Username { get; set; }

    /// <summary>Password of <see cref="Username"/>. A secret: never logged.</summary>
    public string? Password { get; set; }

    /// <summary>Sender, e.g. <c>SmartCity alerts &lt;alerts@city.example&gt;</c>.</summary>
    public string? From { get; set; }

    /// <summary>
    /// Recipients (at least one when <see cref="Host"/> is set). An entry may hold several addresses
    /// separated by commas, so one environment variable (<c>SMARTCITY_Alerting__Smtp__To__0</c>) can list them all.
    /// </summary>
    public List<string> To { get; set; } = [];

    /// <summary>Least severe alert that is mailed (critical is the most severe).</summary>
    /// <value>The default value is <see cref="AlertSeverity.Warning"/> (every alert).</value>
    public AlertSeverity MinimumSeverity { get; set; } = AlertSeverity.Warning;

    /// <summary>Transitions that are mailed; comments and acknowledgements are not, unless listed.</summary>
    /// <value>The default value is raised, escalated and resolved.</value>
    public List<AlertTransitionKind> Transitions { get; set; } = [];

    /// <summary>Base URL of the operator API (e.g. <c>https://ops.city.example</c>); when set, each mail links to the alert.</summary>
    public string? ApiBaseUrl { get; set; }

    /// <summary>Per connection attempt: connect, authenticate and send.</summary>
    /// <value>The default value is 30 seconds.</value>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:05:00")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Retries after a transient failure (4xx reply, network error); 5xx replies are not retried.</summary>
    /// <value>The default value is 4.</value>
    [Range(0, 20)]
    public int Retries { get; set; } = 4;

    /// <summary>First retry delay; doubles with jitter, at most one minute.</summary>
    /// <value>The default value is 2 seconds.</value>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:01:00")]
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(2);

    // Empty counts as unset: docker-compose passes an unset variable as an empty string.
    public bool Enabled => !string.IsNullOrWhiteSpace(Host);

    public bool HasLogin => !string.IsNullOrEmpty(Username);

    public bool HasApiLink => !string.IsNullOrWhiteSpace(ApiBaseUrl);

    /// <summary>Every recipient address of <see cref="To"/>, comma-separated entries split, empty entries skipped.</summary>
    public IReadOnlyList<MailboxAddress> Recipients =>
        [.. To.Where(t => !string.IsNullOrWhiteSpace(t)).SelectMany(t => InternetAddressList.TryParse(t, out var list) ? list.Mailboxes : [])];

    /// <summary>The default transitions when none are configured.</summary>
    public static readonly IReadOnlyList<AlertTransitionKind> DefaultTransitions =
        [AlertTransitionKind.Raised, AlertTransitionKind.Escalated, AlertTransitionKind.Resolved];

    public IReadOnlyList<AlertTransitionKind> EffectiveTransitions => Transitions.Count > 0 ? Transitions : DefaultTransitions;

    public SmtpSecurity EffectiveSecurity => Security ?? (IsLoopback(Host) ? SmtpSecurity.None : SmtpSecurity.StartTls);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!Enabled)
        {
            yield break;
        }

        if (string.IsNullOrWhiteSpace(From) || !MailboxAddress.TryParse(From, out _))
        {
            yield return new ValidationResult("must be a mail address when Host is set", [nameof(From)]);
        }

        var bad = To.Where(t => !string.IsNullOrWhiteSpace(t) && !(InternetAddressList.TryParse(t, out var list) && list.Mailboxes.Any())).ToList();
        foreach (var to in bad)
        {
            yield return new ValidationResult($"'{to}' is not a mail address (or a comma-separated list of them)", [nameof(To)]);
        }

        if (bad.Count == 0 && Recipients.Count == 0)
        {
            yield return new ValidationResult("needs at least one recipient when Host is set", [nameof(To)]);
        }

        if (HasApiLink && !(Uri.TryCreate(ApiBaseUrl, UriKind.Absolute, out var api) && (api.Scheme == Uri.UriSchemeHttp || api.Scheme == Uri.UriSchemeHttps)))
        {
            yield return new ValidationResult("must be an absolute http(s) URL", [nameof(ApiBaseUrl)]);
        }

        if (HasLogin && string.IsNullOrEmpty(Password))
        {
            yield return new ValidationResult("is required with Username", [nameof(Password)]);
        }
        else if (HasLogin && Diagnostics.SecretPlaceholders.IsPlaceholder(Password))
        {
            // Checked only while mail is on and logs in: .env.example's SMTP_PASSWORD placeholder is harmless while unused.
            yield return new ValidationResult(Diagnostics.SecretPlaceholders.Message, [nameof(Password)]);
        }

        if (HasLogin && EffectiveSecurity == SmtpSecurity.None && !IsLoopback(Host))
        {
            yield return new ValidationResult("none would send the password in clear text to a remote host: use starttls or tls", [nameof(Security)]);
        }
    }

    internal static bool IsLoopback(string? host) =>
        host is not null && (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase) || (IPAddress.TryParse(host, out var ip) && IPAddress.IsLoopback(ip)));
}

/// <summary>
/// Mails alert transitions (by default raised, escalated and resolved; never suppressed ones of a
/// flapping rule) as plain text through SMTP with MailKit. Each mail gets a fresh connection, so
/// a server that dropped us is no state to repair. Retried with jittered backoff through Polly on
/// 4xx replies and network errors; a 5xx reply (unknown mailbox, rejected login) is permanent and
/// reported at once to the notifier queue, which logs it. The password is only ever handed to
/// MailKit's AUTH, never to a log or an exception message.
/// </summary>
public sealed partial class SmtpNotifier : IAlertNotifier
{
    private readonly SmtpOptions _options;
    private readonly ILogger<SmtpNotifier> _logger;
    private readonly ResiliencePipeline _pipeline;

    public SmtpNotifier(IOptions<SmtpOptions> options, TimeProvider time, ILogger<SmtpNotifier> logger)
    {
        _options = options.Value;
        _logger = logger;
        _pipeline = _options.Retries == 0 ? ResiliencePipeline.Empty : new ResiliencePipelineBuilder { TimeProvider = time }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<Exception>(IsTransient),
                MaxRetryAttempts = _options.Retries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = _options.RetryDelay,
                MaxDelay = TimeSpan.FromMinutes(1),
                OnRetry = args =>
                {
                    LogRetry(args.AttemptNumber + 1, args.RetryDelay.TotalSeconds, Describe(args.Outcome.Exception));
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
    }

    public bool Enabled => _options.Enabled;

    public async ValueTask OnTransitionAsync(AlertTransition transition, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transition);
        if (!ShouldSend(transition))
        {
            return;
        }

        var message = Compose(transition);
        await _pipeline.ExecuteAsync(async ct => await SendOnceAsync(message, ct).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
        LogSent(transition.Kind, transition.Alert.Id, message.To.Count);
    }

    /// <summary>Whether the filters let this transition through (and email is configured at all).</summary>
    public bool ShouldSend(AlertTransition transition) =>
        _options.Enabled
        && !transition.Suppressed
        && transition.Kind != AlertTransitionKind.Removed
        && transition.Alert.Severity <= _options.MinimumSeverity   // critical = 0 is the most severe
        && _options.EffectiveTransitions.Contains(transition.Kind);

    /// <summary>e.g. <c>[SmartCity] CRITICAL door_forced raised at door-0001 (d03/town-hall)</c>.</summary>
    public static string Subject(AlertTransition t) =>
        $"[SmartCity] {t.Alert.Severity.ToString().ToUpperInvariant()} {t.Alert.Rule} {Verb(t.Kind)} at {t.Alert.DeviceId} ({t.Alert.District}/{t.Alert.Site})";

    /// <summary>The plain-text body: what, where, when, the history and where to act.</summary>
    public string Body(AlertTransition t)
    {
        var a = t.Alert;
        var b = new StringBuilder();
        b.Append(CultureInfo.InvariantCulture, $"Alert {a.Rule} on {a.DeviceId} was {Verb(t.Kind)} at {Ts(t.Entry.At)}.").AppendLine().AppendLine();
        if (a.Description is { Length: > 0 })
        {
            b.AppendLine(a.Description).AppendLine();
        }

        Line(b, "Alert", a.Id);
        Line(b, "Severity", a.Severity.ToString().ToLowerInvariant());
        Line(b, "State", a.State.ToString().ToLowerInvariant());
        Line(b, "Rule", a.Rule);
        Line(b, "Device", $"{a.DeviceId} ({a.ProfileId})");
        Line(b, "Where", $"{a.Sector} / {a.District} / {a.Site}");
        Line(b, "Raised", Ts(a.RaisedAt));
        if (t.Entry.Value is { } v)
        {
            Line(b, "Value", v.ToString("G", CultureInfo.InvariantCulture));
        }

        if (a.Occurrences > 1)
        {
            Line(b, "Occurrences", a.Occurrences.ToString(CultureInfo.InvariantCulture));
        }

        if (a.AcknowledgedBy is not null)
        {
            Line(b, "Acknowledged", $"by {a.AcknowledgedBy} at {Ts(a.AcknowledgedAt)}{(a.AcknowledgedComment is null ? "" : ": " + a.AcknowledgedComment)}");
        }

        if (a.ResolvedAt is not null)
        {
            Line(b, "Resolved", $"{(a.ResolvedBy is null ? "by itself (the condition cleared)" : "by " + a.ResolvedBy)} at {Ts(a.ResolvedAt)}");
        }

        History(b, a.History);

        if (_options.HasApiLink)
        {
            b.AppendLine().Append("Details and actions: ").Append(_options.ApiBaseUrl!.TrimEnd('/')).Append("/api/alerts/").AppendLine(Uri.EscapeDataString(a.Id));
        }

        return b.ToString();
    }

    private static void History(StringBuilder b, IReadOnlyList<AlertHistoryEntry> history)
    {
        b.AppendLine().AppendLine("History:");
        foreach (var h in history)
        {
            b.Append(CultureInfo.InvariantCulture, $"  {Ts(h.At)}  {h.Kind.ToString().ToLowerInvariant()}");
            if (h.By is not null)
            {
                b.Append(" by ").Append(h.By);
            }

            if (h.Value is { } hv)
            {
                b.Append(" value=").Append(hv.ToString("G", CultureInfo.InvariantCulture));
            }

            if (h.Comment is not null)
            {
                b.Append(": ").Append(h.Comment);
            }

            b.AppendLine();
        }
    }

    private MimeMessage Compose(AlertTransition t)
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse(_options.From!));
        message.To.AddRange(_options.Recipients);

        message.Subject = Subject(t);
        message.Date = t.Entry.At;
        // Mail clients thread a raise, its escalation and its resolution together.
        message.Headers.Add("X-SmartCity-Alert", t.Alert.Id);
        message.Body = new TextPart("plain") { Text = Body(t) };
        return message;
    }

    private async Task SendOnceAsync(MimeMessage message, CancellationToken cancellationToken)
    {
        using var client = new SmtpClient { Timeout = (int)_options.Timeout.TotalMilliseconds };
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.Timeout);
        try
        {
            var security = _options.EffectiveSecurity switch
            {
                SmtpSecurity.Tls => SecureSocketOptions.SslOnConnect,
                SmtpSecurity.StartTls => SecureSocketOptions.StartTls,
                _ => SecureSocketOptions.None,
            };
            await client.ConnectAsync(_options.Host!, _options.Port, security, timeout.Token).ConfigureAwait(false);
            if (_options.HasLogin)
            {
                await client.AuthenticateAsync(_options.Username!, _options.Password ?? "", timeout.Token).ConfigureAwait(false);
            }

            await client.SendAsync(message, timeout.Token).ConfigureAwait(false);
            await client.DisconnectAsync(quit: true, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // Our own per-attempt timeout, not shutdown: a network failure worth a retry.
            throw new TimeoutException($"SMTP server {_options.Host}:{_options.Port} did not finish within {_options.Timeout.TotalSeconds:0.#} s");
        }
    }

    /// <summary>4xx replies, network errors, protocol breakdowns and timeouts are worth another try; 5xx and rejected logins are not.</summary>
    public static bool IsTransient(Exception ex) => ex switch
    {
        SmtpCommandException c => (int)c.StatusCode is >= 400 and < 500,
        AuthenticationException => false,
        SslHandshakeException => false,
        SmtpProtocolException or ServiceNotConnectedException or SocketException or IOException or TimeoutException => true,
        _ => false,
    };

    private static string Describe(Exception? ex) => ex switch
    {
        null => "no error",
        SmtpCommandException c => $"SMTP {(int)c.StatusCode}: {c.Message}",
        _ => ex.Message,
    };

    private static string Verb(AlertTransitionKind kind) => kind switch
    {
        AlertTransitionKind.FlappingStarted => "started flapping",
        AlertTransitionKind.FlappingStopped => "stopped flapping",
        _ => kind.ToString().ToLowerInvariant(),
    };

    private static void Line(StringBuilder b, string label, string value) => b.Append(label.PadRight(14)).Append(value).AppendLine();

    private static string Ts(DateTimeOffset? t) => t?.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture) ?? "-";

    [LoggerMessage(EventId = 6111, Level = LogLevel.Information, Message = "Mailed the {Transition} of alert {AlertId} to {Recipients} recipient(s)")]
    private partial void LogSent(AlertTransitionKind transition, string alertId, int recipients);

    [LoggerMessage(EventId = 6110, Level = LogLevel.Warning, Message = "SMTP delivery failed ({Error}); retry {Attempt} in {DelaySeconds:0.#} s")]
    private partial void LogRetry(int attempt, double delaySeconds, string error);
}
