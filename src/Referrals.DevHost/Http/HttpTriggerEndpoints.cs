using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Abstractions;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Constraints;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Options;
using Referrals.DevHost.Functions;

namespace Referrals.DevHost.Http;

/// <summary>Serves each httpTrigger in functions.metadata at {routePrefix}/{route}, with its methods and authLevel.</summary>
public static partial class HttpTriggerEndpoints
{
    public static IReadOnlyList<string> Map(IEndpointRouteBuilder endpoints, FunctionsApp app, IEnumerable<FunctionInvoker> invokers)
    {
        var mapped = new List<string>();
        foreach (var invoker in invokers.Where(i => string.Equals(i.Metadata.Trigger.Type, "httpTrigger", StringComparison.OrdinalIgnoreCase)))
        {
            var trigger = invoker.Metadata.Trigger;
            var route = trigger.Get("route") ?? invoker.Metadata.Name;
            var pattern = string.IsNullOrEmpty(app.Host.RoutePrefix) ? route : $"{app.Host.RoutePrefix}/{route}";
            var methods = trigger.Raw["methods"]?.AsArray().Select(m => m!.ToString().ToUpperInvariant()).ToArray();
            var level = HttpKeyCheck.Parse(trigger.Get("authLevel"));
            RequestDelegate handler = context => InvokeAsync(context, invoker, level);

            // The Functions host maps each route with an HttpMethodRouteConstraint rather than endpoint method metadata
            // (azure-functions-host src/WebJobs.Script.WebHost/WebScriptHostHttpRoutesManager.cs), so a method the
            // trigger does not declare matches no route and gets 404, not 405 as MapMethods would answer.
            var policies = new RouteValueDictionary();
            if (methods is { Length: > 0 })
            {
                policies.Add("httpMethod", new HttpMethodRouteConstraint(methods));
            }

            var builder = endpoints.Map(RoutePatternFactory.Parse("/" + pattern, defaults: null, parameterPolicies: policies), handler);
            builder.WithDisplayName(invoker.Metadata.Name);
            mapped.Add($"{(methods is { Length: > 0 } ? string.Join(",", methods) : "ANY")} /{pattern} ({level})");
        }

        return mapped;
    }

    private static async Task InvokeAsync(HttpContext context, FunctionInvoker invoker, AuthLevel level)
    {
        var keys = context.RequestServices.GetRequiredService<IOptionsMonitor<HttpKeyOptions>>().CurrentValue;
        var presented = context.Request.Headers[HttpKeyCheck.HeaderName].FirstOrDefault() ?? context.Request.Query[HttpKeyCheck.QueryName].FirstOrDefault();
        if (!HttpKeyCheck.IsAuthorized(level, invoker.Metadata.Name, presented, keys))
        {
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            return;
        }

        var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Function." + invoker.Metadata.Name);
        object? result;
        try
        {
            result = await invoker.InvokeAsync(context.RequestServices, parameter => Bind(parameter, context, invoker));
        }
        catch (Exception e) when (!context.RequestAborted.IsCancellationRequested)
        {
            // As the Functions host does: the failure is logged and the caller gets a bare 500.
            LogFailed(logger, e, invoker.Metadata.Name);
            if (!context.Response.HasStarted)
            {
                context.Response.StatusCode = StatusCodes.Status500InternalServerError;
            }

            return;
        }

        switch (result)
        {
            case IActionResult actionResult:
                await actionResult.ExecuteResultAsync(new ActionContext(context, context.GetRouteData(), new ActionDescriptor()));
                break;
            case IResult httpResult:
                await httpResult.ExecuteAsync(context);
                break;
            case null:
                break;
            default:
                await context.Response.WriteAsJsonAsync(result, result.GetType(), (JsonSerializerOptions?)null, context.RequestAborted);
                break;
        }
    }

    private static object? Bind(System.Reflection.ParameterInfo parameter, HttpContext context, FunctionInvoker invoker)
    {
        var type = parameter.ParameterType;
        if (type == typeof(HttpRequest)) return context.Request;
        if (type == typeof(CancellationToken)) return context.RequestAborted;
        if (type == typeof(FunctionContext)) return new DevHostFunctionContext(invoker.Metadata.Name, context.RequestServices, context.RequestAborted);

        // As the host's binding data (HttpTriggerAttributeBindingProvider.GetRequestBindingDataAsync in
        // azure-webjobs-sdk-extensions): route values win over the query string, whose "code" (the key) is never bound.
        var raw = context.GetRouteValue(parameter.Name!)?.ToString()
            ?? (string.Equals(parameter.Name, HttpKeyCheck.QueryName, StringComparison.OrdinalIgnoreCase) ? null : context.Request.Query[parameter.Name!].FirstOrDefault());
        if (raw is null)
        {
            return parameter.HasDefaultValue ? parameter.DefaultValue : type.IsValueType ? Activator.CreateInstance(type) : null;
        }

        var target = Nullable.GetUnderlyingType(type) ?? type;
        return target == typeof(string) ? raw : Convert.ChangeType(raw, target, CultureInfo.InvariantCulture);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Function {FunctionName} failed")]
    private static partial void LogFailed(ILogger logger, Exception exception, string functionName);
}
