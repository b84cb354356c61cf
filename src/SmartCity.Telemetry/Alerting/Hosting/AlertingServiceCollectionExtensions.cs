using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using SmartCity.Telemetry.Alerting.Notifiers;
using SmartCity.Telemetry.Alerting.Notifiers.Mqtt;
using SmartCity.Telemetry.Alerting.Notifiers.Smtp;
using SmartCity.Telemetry.Alerting.Notifiers.Webhook;

namespace SmartCity.Telemetry.Alerting.Hosting;

/// <summary>
/// How the composition root binds an options class to its section and validates it at start (its
/// validators and start-up checks live there, not here).
/// </summary>
public interface IOptionsRegistrar
{
    void Add<TOptions>(string section)
        where TOptions : class;
}

public static class AlertingServiceCollectionExtensions
{
    /// <summary>
    /// The alerting branch's notifiers: one line each, each behind its own queue. The hosted services
    /// (NotifierQueues, AlertingService) are started by the composition root in its stated order
    /// (Composition/PipelineStartOrder): the notifier queues stop after the alerting service and
    /// deliver what it queued last.
    /// </summary>
    public static IServiceCollection AddAlerting(this IServiceCollection services, IOptionsRegistrar options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Add<NotifierQueueOptions>(NotifierQueueOptions.SectionName);
        services.AddAlertNotifier<MqttAlertStateNotifier>();
        services.AddAlertNotifier<WebhookNotifier, WebhookOptions>(sp => new WebhookNotifier(sp.GetRequiredService<IOptions<WebhookOptions>>(), sp.GetRequiredService<TimeProvider>()), options, WebhookOptions.SectionName);
        services.AddAlertNotifier<SmtpNotifier, SmtpOptions>(options, SmtpOptions.SectionName);
        return services;
    }

    /// <summary>
    /// One notifier, behind its own queue and loop: the alerting service's dispatch returns at once,
    /// and a dead webhook or a silent SMTP server holds back only itself.
    /// </summary>
    public static IServiceCollection AddAlertNotifier<TNotifier>(this IServiceCollection services)
        where TNotifier : class, IAlertNotifier
    {
        services.AddSingleton<TNotifier>();
        services.AddSingleton<IAlertNotifier>(sp => NotifierQueues.Wrap(sp, sp.GetRequiredService<TNotifier>()));
        return services;
    }

    /// <summary>A notifier with an options class of its own, bound to <paramref name="section"/>.</summary>
    public static IServiceCollection AddAlertNotifier<TNotifier, TOptions>(this IServiceCollection services, IOptionsRegistrar options, string section)
        where TNotifier : class, IAlertNotifier
        where TOptions : class
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Add<TOptions>(section);
        return services.AddAlertNotifier<TNotifier>();
    }

    /// <summary>A notifier made by <paramref name="create"/>, with options bound to <paramref name="section"/>.</summary>
    public static IServiceCollection AddAlertNotifier<TNotifier, TOptions>(this IServiceCollection services, Func<IServiceProvider, TNotifier> create, IOptionsRegistrar options, string section)
        where TNotifier : class, IAlertNotifier
        where TOptions : class
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Add<TOptions>(section);
        services.AddSingleton(create);
        services.AddSingleton<IAlertNotifier>(sp => NotifierQueues.Wrap(sp, sp.GetRequiredService<TNotifier>()));
        return services;
    }
}
