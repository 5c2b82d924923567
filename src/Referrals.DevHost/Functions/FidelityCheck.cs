using System.Reflection;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace Referrals.DevHost.Functions;

/// <summary>
/// Refuses at start-up what the DevHost cannot serve the way Azure would, so that a function never works locally and
/// fails there: bindings other than the trigger (and an HTTP trigger's "$return"), retry policies, HTTP parameters the
/// worker would not bind, and HTTP results the worker's ASP.NET Core integration would not write.
/// </summary>
public static class FidelityCheck
{
    /// <summary>Throws one message naming every function and what about it cannot be served faithfully.</summary>
    public static void Verify(IEnumerable<FunctionInvoker> invokers)
    {
        var problems = invokers.SelectMany(Problems).ToList();
        if (problems.Count > 0)
        {
            throw new InvalidOperationException(
                "The DevHost cannot serve these functions as Azure would, so it refuses to start:" + Environment.NewLine
                + string.Join(Environment.NewLine, problems.Select(p => "  - " + p)));
        }
    }

    public static IEnumerable<string> Problems(FunctionInvoker invoker)
    {
        var metadata = invoker.Metadata;
        var triggers = metadata.Bindings.Where(b => b.IsTrigger).ToList();
        if (triggers.Count != 1)
        {
            yield return $"{metadata.Name}: has {triggers.Count} triggers; a function has exactly one.";
            yield break;
        }

        var trigger = triggers[0];
        var isHttp = IsType(trigger, "httpTrigger");
        if (!isHttp && !IsType(trigger, "queueTrigger") && !IsType(trigger, "timerTrigger"))
        {
            yield return $"{metadata.Name}: trigger type '{trigger.Type}' is not served by the DevHost.";
        }

        foreach (var binding in metadata.Bindings.Where(b => !b.IsTrigger && !(isHttp && IsHttpReturn(b))))
        {
            yield return $"{metadata.Name}: binding '{binding.Name}' ({binding.Type}, {binding.Direction}) is not served by the DevHost; use the SDK client in code instead.";
        }

        if (metadata.Retry is not null)
        {
            // The host applies these policies itself (FunctionExecutor with the retry strategy); the DevHost does not.
            yield return $"{metadata.Name}: a retry policy ({metadata.Retry.ToJsonString()}) is not honoured by the DevHost; rely on the queue's maxDequeueCount instead.";
        }

        if (isHttp)
        {
            foreach (var problem in HttpProblems(invoker, trigger))
            {
                yield return problem;
            }
        }
    }

    private static IEnumerable<string> HttpProblems(FunctionInvoker invoker, FunctionBinding trigger)
    {
        var name = invoker.Metadata.Name;
        foreach (var parameter in invoker.Parameters)
        {
            var type = parameter.ParameterType;
            if (parameter.Name == trigger.Name)
            {
                // The worker's HttpContextConverter binds HttpRequest or HttpRequestData; the DevHost serves HttpRequest.
                if (type != typeof(HttpRequest))
                {
                    yield return $"{name}: the trigger parameter '{parameter.Name}' is a {type.Name}; the DevHost binds HttpRequest only.";
                }
            }
            else if (type != typeof(CancellationToken) && type != typeof(FunctionContext) && !IsBindingDataValue(type))
            {
                // Not HttpContext either: on Azure the worker has no converter for it, so it would be null.
                yield return $"{name}: parameter '{parameter.Name}' ({type.Name}) is not bound by the worker from an HTTP request; take HttpRequest, CancellationToken, FunctionContext or a route or query value (string or a primitive).";
            }
        }

        if (!IsHttpResult(invoker.ReturnType))
        {
            yield return $"{name}: returns {invoker.ReturnType.Name}; an HTTP function returns IResult or IActionResult (or a Task of one), which the worker's ASP.NET Core integration writes as the DevHost does.";
        }
    }

    /// <summary>Route and query values reach parameters as strings converted to simple types.</summary>
    private static bool IsBindingDataValue(Type type)
    {
        var target = Nullable.GetUnderlyingType(type) ?? type;
        return target == typeof(string) || (target.IsPrimitive && target != typeof(IntPtr) && target != typeof(UIntPtr)) || target == typeof(decimal);
    }

    /// <summary>The results FunctionsHttpProxyingMiddleware.TryHandleHttpResult (azure-functions-dotnet-worker) writes.</summary>
    internal static bool IsHttpResult(Type returnType)
    {
        if (returnType.IsGenericType && (returnType.GetGenericTypeDefinition() == typeof(Task<>) || returnType.GetGenericTypeDefinition() == typeof(ValueTask<>)))
        {
            returnType = returnType.GetGenericArguments()[0];
        }

        return typeof(IResult).IsAssignableFrom(returnType) || typeof(IActionResult).IsAssignableFrom(returnType);
    }

    private static bool IsType(FunctionBinding binding, string type) => string.Equals(binding.Type, type, StringComparison.OrdinalIgnoreCase);

    private static bool IsHttpReturn(FunctionBinding binding) =>
        binding.Name == "$return" && IsType(binding, "http") && string.Equals(binding.Direction, "Out", StringComparison.OrdinalIgnoreCase);
}
