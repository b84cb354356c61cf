using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;
using SmartCity.Telemetry.Alerting.Notifiers;
using SmartCity.Telemetry.Diagnostics;

namespace SmartCity.Telemetry.Alerting.Notifiers.Webhook;

/// <summary>Where alert transitions are POSTed as JSON, and the key that signs them.</summary>
public sealed class WebhookOptions
{
    public const string SectionName = "Alerting:Webhook";

    /// <summary>Receiver URL; none = no webhook.</summary>
    [Url(ErrorMessage = "must be an absolute http(s) URL")]
    public string? Url { get; set; }

    /// <summary>HMAC-SHA256 key; the signature is in <c>X-SmartCity-Signature: sha256=HEX</c> over <c>{timestamp}.{body}</c>. Never logged.</summary>
    [Diagnostics.NotPlaceholder]
    public string? SigningKey { get; set; }

    /// <value>The default value is 5 seconds.</value>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <value>The default value is 5.</value>
    [Range(0, 20)]
    public int Retries { get; set; } = 5;
}

/// <summary>
/// POSTs every alert transition as JSON, signed with HMAC-SHA256 (header
/// <c>X-SmartCity-Signature: sha256=HEX</c> over <c>{X-SmartCity-Timestamp}.{body}</c>, so a replayed
/// body with a new timestamp does not verify). Retried with jittered backoff through Polly on
/// network errors, 408, 429 and 5xx; a receiver that keeps failing is reported by its
/// <see cref="QueuedAlertNotifier"/> and blocks neither the other notifiers nor ingestion.
/// </summary>
public sealed class WebhookNotifier : IAlertNotifier, IDisposable
{
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    private readonly WebhookOptions _options;
    private readonly HttpClient _http;
    private readonly ResiliencePipeline<HttpResponseMessage> _pipeline;
    private readonly TimeProvider _time;

    public WebhookNotifier(IOptions<WebhookOptions> options, TimeProvider time, HttpMessageHandler? handler = null)
    {
        _options = options.Value;
        _time = time;
        _http = handler is null ? new HttpClient() : new HttpClient(handler);
        _http.Timeout = _options.Timeout;
        // Retries = 0 means one attempt: Polly's retry strategy itself refuses a zero attempt count.
        _pipeline = _options.Retries == 0 ? ResiliencePipeline<HttpResponseMessage>.Empty : new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = time }
            .AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                ShouldHandle = new PredicateBuilder<HttpResponseMessage>()
                    .Handle<HttpRequestException>()
                    .Handle<TaskCanceledException>()
                    .HandleResult(r => (int)r.StatusCode is 408 or 429 or >= 500),
                MaxRetryAttempts = _options.Retries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromMilliseconds(200),
                MaxDelay = TimeSpan.FromSeconds(10),
            })
            .Build();
    }

    public bool Enabled => _options.Url is not null;

    public async ValueTask OnTransitionAsync(AlertTransition transition, CancellationToken cancellationToken)
    {
        if (_options.Url is null || transition.Kind == AlertTransitionKind.Removed)
        {
            return;   // a removal is the store's housekeeping, not news for the receiver
        }

        var body = JsonSerializer.SerializeToUtf8Bytes(new { transition = transition.Kind, transition.Entry, transition.Suppressed, alert = transition.Alert }, Json);
        var timestamp = _time.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var signature = _options.SigningKey is null ? null : Sign(_options.SigningKey, timestamp, body);
        using var response = await _pipeline.ExecuteAsync(async ct =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, _options.Url) { Content = new ByteArrayContent(body) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            request.Headers.Add("X-SmartCity-Timestamp", timestamp);
            request.Headers.Add("X-SmartCity-Event", transition.Kind.ToString().ToLowerInvariant());
            if (signature is not null)
            {
                request.Headers.Add("X-SmartCity-Signature", "sha256=" + signature);
            }

            return await _http.SendAsync(request, ct).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"webhook answered {(int)response.StatusCode} {response.ReasonPhrase}");
        }
    }

    /// <summary>HMAC-SHA256 of <c>{timestamp}.{body}</c> in lowercase hex: what a receiver recomputes to verify.</summary>
    public static string Sign(string key, string timestamp, ReadOnlySpan<byte> body)
    {
        var message = new byte[timestamp.Length + 1 + body.Length];
        Encoding.ASCII.GetBytes(timestamp, message);
        message[timestamp.Length] = (byte)'.';
        body.CopyTo(message.AsSpan(timestamp.Length + 1));
        return Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(key), message));
    }

    public void Dispose() => _http.Dispose();
}
