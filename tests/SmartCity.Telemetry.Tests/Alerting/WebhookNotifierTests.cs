using System.Net;
using Microsoft.Extensions.Options;
using SmartCity.Telemetry.Alerting.Notifiers.Webhook;
using static SmartCity.Telemetry.Tests.Alerting.AlertTestKit;

namespace SmartCity.Telemetry.Tests.Alerting;

public sealed class WebhookNotifierTests
{
    [Fact]
    public async Task RetriesZero_OneAttempt_TheFailureIsReportedNotRetried()
    {
        using var kit = new AlertTestKit();
        var raised = Assert.Single(kit.Observe(DoorEvent(kit.Now, "forced"), "door_contact"));
        var handler = new CountingHandler(HttpStatusCode.ServiceUnavailable);
        using var webhook = new WebhookNotifier(Options.Create(new WebhookOptions { Url = "http://127.0.0.1:9/hook", Retries = 0 }), kit.Time, handler);

        var error = await Assert.ThrowsAsync<HttpRequestException>(async () => await webhook.OnTransitionAsync(raised, CancellationToken.None));

        Assert.Contains("503", error.Message, StringComparison.Ordinal);
        Assert.Equal(1, handler.Calls);
    }

    [Fact]
    public async Task Signed_TheReceiverRecomputesTheSignatureFromTimestampAndBody()
    {
        using var kit = new AlertTestKit();
        var raised = Assert.Single(kit.Observe(DoorEvent(kit.Now, "forced"), "door_contact"));
        var handler = new CountingHandler(HttpStatusCode.NoContent);
        using var webhook = new WebhookNotifier(Options.Create(new WebhookOptions { Url = "http://127.0.0.1:9/hook", SigningKey = "k", Retries = 0 }), kit.Time, handler);

        await webhook.OnTransitionAsync(raised, CancellationToken.None);

        var (timestamp, signature, body) = handler.Last!.Value;
        Assert.Equal(kit.Now.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture), timestamp);
        Assert.Equal("sha256=" + WebhookNotifier.Sign("k", timestamp, body), signature);
        Assert.NotEqual("sha256=" + WebhookNotifier.Sign("other", timestamp, body), signature);
    }

    [Fact]
    public async Task OnTransitionAsync_AlertForgottenByTheStore_NotPosted()
    {
        // The store's housekeeping (the MQTT state is cleared on it) is not news for a webhook receiver.
        using var kit = new AlertTestKit(configure: o => o.KeepResolvedFor = TimeSpan.FromHours(1));
        var alert = Assert.Single(kit.Observe(DoorEvent(kit.Now, "forced"), "door_contact")).Alert;
        kit.Engine.Resolve(alert.Id, "ops:anna", null);
        kit.Advance(TimeSpan.FromMinutes(61));
        var removed = Assert.Single(kit.Tick(), t => t.Kind == SmartCity.Telemetry.Alerting.AlertTransitionKind.Removed);
        var handler = new CountingHandler(HttpStatusCode.NoContent);
        using var webhook = new WebhookNotifier(Options.Create(new WebhookOptions { Url = "http://127.0.0.1:9/hook", Retries = 0 }), kit.Time, handler);

        await webhook.OnTransitionAsync(removed, CancellationToken.None);

        Assert.Equal(0, handler.Calls);
    }

    private sealed class CountingHandler(HttpStatusCode status) : HttpMessageHandler
    {
        public int Calls { get; private set; }

        public (string Timestamp, string? Signature, byte[] Body)? Last { get; private set; }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Calls++;
            var body = await request.Content!.ReadAsByteArrayAsync(cancellationToken);
            Last = (request.Headers.GetValues("X-SmartCity-Timestamp").Single(),
                request.Headers.TryGetValues("X-SmartCity-Signature", out var s) ? s.Single() : null, body);
            return new HttpResponseMessage(status);
        }
    }
}
