using Microsoft.Extensions.DependencyInjection;

namespace Referrals.Functions.Operations.Alerts;

public static class AlertRegistration
{
    public static IServiceCollection AddOperatorAlerts(this IServiceCollection services)
    {
        services.AddOptions<AlertOptions>().BindConfiguration(AlertOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<QuietPeriods>();
        services.AddTransient<AlertMail>(); // it holds an EmailSender, which is transient over pooled handlers
        services.AddTransient<OperatorAlerts>();
        services.AddTransient<AlertDigests>();
        services.AddTransient<PoisonWaitingCheck>();
        return services;
    }
}
