using System.ComponentModel.DataAnnotations;
using SmartCity.Telemetry.Diagnostics;

namespace SmartCity.Telemetry.Source;

/// <summary>The worker's MQTT connection: MQTT 5, persistent session, QoS 1, manual acknowledgement.</summary>
public sealed class MqttSourceOptions : IValidatableObject
{
    public const string SectionName = "Mqtt";

    [Required(ErrorMessage = "is required (the MQTT broker host name or address)")]
    public string? Host { get; set; }

    /// <value>The default value is 1883.</value>
    [Range(1, 65535)]
    public int Port { get; set; } = 1883;

    /// <summary>Client id; the broker keeps the persistent session under it, so it must be stable across restarts.</summary>
    /// <value>The default value is <c>smartcity-worker</c>.</value>
    [Required]
    [RegularExpression(@"^[A-Za-z0-9_.\-]{1,64}$", ErrorMessage = "must be 1..64 characters of [A-Za-z0-9_.-]")]
    public string ClientId { get; set; } = "smartcity-worker";

    public string? Username { get; set; }

    /// <summary>Never logged.</summary>
    [Diagnostics.NotPlaceholder]
    public string? Password { get; set; }

    /// <summary>TLS towards the broker (<c>Mqtt:Tls:Enabled</c>, <c>CaFile</c>, client certificate); off by default.</summary>
    public MqttTlsOptions Tls { get; set; } = new();

    /// <summary>Topic filters the worker subscribes to at QoS 1.</summary>
    /// <value>
    /// When none is configured, <see cref="DefaultSubscription"/>: every device message, so that unknown topic
    /// shapes are counted, not missed. The initial value is empty because the configuration binder appends
    /// configured array items to it: a default of <c>city/#</c> here would stay beside <c>$share/g/city/#</c>.
    /// </value>
    public string[] Subscriptions { get; set; } = [];

    public const string DefaultSubscription = "city/#";

    /// <summary>How long the broker keeps the session (and queues QoS 1 messages) while the worker is away.</summary>
    /// <value>The default value is 1 day.</value>
    [Range(typeof(TimeSpan), "00:00:00", "49710.00:00:00")]
    public TimeSpan SessionExpiry { get; set; } = TimeSpan.FromDays(1);

    /// <summary>Messages the broker may send before we acknowledge (MQTT 5 Receive Maximum); acks follow each fsync of the spool.</summary>
    /// <value>The default value is 10000.</value>
    [Range(1, 65535)]
    public int ReceiveMaximum { get; set; } = 10_000;

    /// <summary>
    /// Most messages the worker holds in memory between reading them from the broker and acknowledging
    /// them after the spool's fsync. At the bound it stops reading the connection until the spool
    /// catches up, so a burst waits in the broker's session instead of the worker's heap (mosquitto
    /// 2.0.11 lets a whole <see cref="ReceiveMaximum"/> more through with every acknowledgement, so that
    /// window alone does not bound it). Counted by <c>smartcity.source.receive_backlog</c>; the time spent
    /// waiting by <c>smartcity.source.receive_held</c>.
    /// </summary>
    /// <remarks>
    /// The default is sized from the spool's group commit, not from the broker's window: messages are
    /// acknowledged a commit at a time (every <c>Spool:CommitInterval</c>, 10 ms), so the backlog only has
    /// to cover the commit being synced, the one filling, and the messages in the ingest stage. At the
    /// full rate measured on the 2-core target (11,000-15,000 msg/s) that is a few hundred messages;
    /// 2,000 is over 100 ms of full-rate traffic. 10,000 (the first default) kept that many MQTTnet
    /// packets, decoded points and formatted lines alive long enough to be promoted to the GC's older
    /// generations: with 100,000 devices the worker's peak RSS was 339-346 MB against 295 MB at 2,000
    /// (docs/performance.md, issue 25).
    /// </remarks>
    /// <value>The default value is 2000.</value>
    [Range(1, 1_000_000)]
    public int MaxReceiveBacklog { get; set; } = 2_000;

    /// <summary>
    /// Send the acknowledgements of one spool commit (and anything else written meanwhile) in one
    /// socket write instead of one per message: MQTTnet writes every PUBACK on its own, a system call
    /// and a wake-up of the broker each. Acknowledgements still follow the fsync. Off: MQTTnet's own writes.
    /// </summary>
    /// <value>The default value is <c>true</c>.</value>
    public bool CoalesceAcks { get; set; } = true;

    /// <summary>
    /// After a read that waited for the broker's next message, wait this long before the next read, so that
    /// one wake-up of the worker takes in what arrived meanwhile instead of one message each
    /// (<see cref="ReceiveLinger"/>). A message waits at most this long in the socket; reads that find data
    /// waiting never linger. Zero: read at once, as MQTTnet does.
    /// </summary>
    /// <remarks>
    /// Off by default: in two quiet same-run benches (docs/performance.md, 2026-12-07 17:08 and 17:16 UTC) 5 ms cut
    /// the worker's context switches per message at the max rate from 3.0-4.1 to 1.6-1.9 and its CPU per message from
    /// 62-69 to 47-53 us, but did not lower the CPU at 2,000 paced msg/s and raised p99 device-to-stored at 4,000
    /// msg/s from 224-270 to 286-438 ms, above issue 25's 250 ms. For a worker that mostly runs flat out (replays,
    /// a partition catching up), 5 ms trades that latency for CPU.
    /// </remarks>
    /// <value>The default value is zero (off).</value>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:01")]
    public TimeSpan ReceiveLinger { get; set; } = TimeSpan.Zero;

    /// <value>The default value is 15 seconds.</value>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan KeepAlive { get; set; } = TimeSpan.FromSeconds(15);

    /// <value>The default value is 10 seconds.</value>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>First delay before reconnecting; doubles with jitter up to <see cref="ReconnectMaxDelay"/>.</summary>
    /// <value>The default value is 200 milliseconds.</value>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:10:00")]
    public TimeSpan ReconnectBaseDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <value>The default value is 15 seconds.</value>
    [Range(typeof(TimeSpan), "00:00:00.001", "01:00:00")]
    public TimeSpan ReconnectMaxDelay { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How long a graceful stop waits for buffered messages to be stored and acknowledged.</summary>
    /// <value>The default value is 20 seconds.</value>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>
    /// Watchdog: when no message arrives for this long although messages were arriving before, the
    /// subscription is presumed lost silently; the source reconnects and resubscribes. Set it above
    /// the longest normal gap in the city's traffic; zero turns the watchdog off.
    /// </summary>
    /// <value>The default value is 2 minutes.</value>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan QuietTimeout { get; set; } = TimeSpan.FromMinutes(2);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (ReconnectBaseDelay > ReconnectMaxDelay)
        {
            yield return new ValidationResult("must not be greater than ReconnectMaxDelay", [nameof(ReconnectBaseDelay)]);
        }

        if (Username is null && Password is not null)
        {
            yield return new ValidationResult("is set but Mqtt:Username is not", [nameof(Password)]);
        }

        // Data annotations do not descend into nested objects.
        foreach (var failure in Tls.Validate(nameof(Tls) + ":"))
        {
            yield return failure;
        }

        for (var i = 0; i < Subscriptions.Length; i++)
        {
            if (string.IsNullOrWhiteSpace(Subscriptions[i]))
            {
                yield return new ValidationResult("must not be empty", [$"{nameof(Subscriptions)}:{i}"]);
            }
        }
    }
}
