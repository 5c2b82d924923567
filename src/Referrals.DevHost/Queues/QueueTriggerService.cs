using System.Reflection;
using System.Text;
using System.Text.Json;
using Azure.Storage.Queues.Models;
using Microsoft.Azure.Functions.Worker;
using Referrals.DevHost.Functions;

namespace Referrals.DevHost.Queues;

/// <summary>Runs one <see cref="QueueListener"/> per queueTrigger function in functions.metadata.</summary>
public sealed class QueueTriggerService(
    FunctionsApp app,
    IReadOnlyList<FunctionInvoker> invokers,
    IConfiguration configuration,
    IServiceScopeFactory scopes,
    ILoggerFactory loggers) : BackgroundService
{
    // The worker's default serializer: System.Text.Json, property names matched case-insensitively.
    private static readonly JsonSerializerOptions Json = new() { PropertyNameCaseInsensitive = true };
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public IReadOnlyList<QueueListener> Listeners { get; } = CreateListeners(app, invokers, configuration, scopes, loggers);

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(Listeners.Select(l => Task.Run(() => l.RunAsync(stoppingToken), CancellationToken.None)));

    private static List<QueueListener> CreateListeners(FunctionsApp app, IReadOnlyList<FunctionInvoker> invokers, IConfiguration configuration, IServiceScopeFactory scopes, ILoggerFactory loggers) =>
        invokers
            .Where(i => string.Equals(i.Metadata.Trigger.Type, "queueTrigger", StringComparison.OrdinalIgnoreCase))
            .Select(invoker =>
            {
                var trigger = invoker.Metadata.Trigger;
                var queueName = SettingNames.Resolve(trigger.Get("queueName")!, configuration);
                var logger = loggers.CreateLogger("Function." + invoker.Metadata.Name);
                var options = configuration.GetSection(DevHostOptions.Section).Get<DevHostOptions>() ?? new DevHostOptions();
                return new QueueListener(
                    SettingNames.Connection(trigger.Get("connection"), configuration),
                    queueName,
                    app.Host.Queues,
                    (message, cancellation) => InvokeAsync(invoker, message, scopes, cancellation),
                    logger,
                    shutdownGrace: options.ShutdownGrace,
                    drainOnStop: DrainOnStop(configuration),
                    messageLease: options.MessageLease);
            })
            .ToList();

    /// <summary>
    /// The host's switch for drain mode at application stop (EnvironmentSettingNames.DrainOnApplicationStopping in
    /// azure-functions-host src/WebJobs.Script/Environment/EnvironmentSettingNames.cs, read by
    /// WebJobsScriptHostService.RegisterApplicationLifetimeEvents).
    /// </summary>
    public const string DrainOnStopSetting = "FUNCTIONS_ENABLE_DRAIN_ON_APP_STOPPING";

    public static bool DrainOnStop(IConfiguration configuration) =>
        bool.TryParse(configuration[DrainOnStopSetting], out var drain) && drain;

    private static async Task InvokeAsync(FunctionInvoker invoker, QueueMessage message, IServiceScopeFactory scopes, CancellationToken cancellation)
    {
        await using var scope = scopes.CreateAsyncScope();
        await invoker.InvokeAsync(scope.ServiceProvider, parameter => Bind(parameter, invoker, message, scope.ServiceProvider, cancellation));
    }

    private static object? Bind(ParameterInfo parameter, FunctionInvoker invoker, QueueMessage message, IServiceProvider services, CancellationToken cancellation)
    {
        var type = parameter.ParameterType;
        if (type == typeof(CancellationToken)) return cancellation;
        if (type == typeof(FunctionContext)) return new DevHostFunctionContext(invoker.Metadata.Name, services, cancellation);

        if (parameter.Name == invoker.Metadata.Trigger.Name)
        {
            if (type == typeof(QueueMessage)) return message;
            if (type == typeof(BinaryData)) return message.Body;
            if (type == typeof(byte[])) return message.Body.ToArray();
            if (type == typeof(string)) return StrictUtf8.GetString(message.Body.ToMemory().Span);
            return JsonSerializer.Deserialize(message.Body.ToMemory().Span, type, Json)
                ?? throw new JsonException($"The message body is null, not a {type.Name}.");
        }

        // The queue trigger's binding data, by name, as the host offers it.
        return parameter.Name?.ToLowerInvariant() switch
        {
            "id" => message.MessageId,
            "popreceipt" => message.PopReceipt,
            "dequeuecount" => Convert.ChangeType(message.DequeueCount, type, System.Globalization.CultureInfo.InvariantCulture),
            "insertiontime" => message.InsertedOn,
            "expirationtime" => message.ExpiresOn,
            "nextvisibletime" => message.NextVisibleOn,
            "queuetrigger" => message.Body.ToString(),
            _ => throw new InvalidOperationException($"Function {invoker.Metadata.Name}: the DevHost cannot bind parameter '{parameter.Name}' of a queue trigger."),
        };
    }
}
