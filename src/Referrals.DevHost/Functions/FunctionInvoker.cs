using System.Reflection;
using Microsoft.Azure.Functions.Worker;

namespace Referrals.DevHost.Functions;

/// <summary>
/// Calls one function method the way the isolated worker does: a new instance per invocation from the invocation's
/// DI scope (ActivatorUtilities), parameters bound by name and type, and a Task result awaited.
/// </summary>
public sealed class FunctionInvoker
{
    private readonly MethodInfo method;
    private readonly Type functionClass;

    private FunctionInvoker(FunctionMetadata metadata, Type functionClass, MethodInfo method)
    {
        Metadata = metadata;
        this.functionClass = functionClass;
        this.method = method;
        Parameters = method.GetParameters();
    }

    public FunctionMetadata Metadata { get; }
    public IReadOnlyList<ParameterInfo> Parameters { get; }

    public Type ReturnType => method.ReturnType;

    public ParameterInfo TriggerParameter => Parameters.Single(p => p.Name == Metadata.Trigger.Name);

    /// <summary>Resolves the metadata's entryPoint ("Namespace.Class.Method") in its scriptFile's assembly.</summary>
    public static FunctionInvoker Create(FunctionMetadata metadata, string appDirectory)
    {
        var assemblyName = AssemblyName.GetAssemblyName(Path.Combine(appDirectory, metadata.ScriptFile));
        var assembly = AppDomain.CurrentDomain.GetAssemblies().FirstOrDefault(a => AssemblyName.ReferenceMatchesDefinition(a.GetName(), assemblyName))
            ?? Assembly.Load(assemblyName);
        var split = metadata.EntryPoint.LastIndexOf('.');
        var typeName = metadata.EntryPoint[..split];
        var methodName = metadata.EntryPoint[(split + 1)..];
        var type = assembly.GetType(typeName, throwOnError: true)!;
        var candidates = type.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static)
            .Where(m => m.Name == methodName && m.GetCustomAttribute<FunctionAttribute>()?.Name == metadata.Name)
            .ToList();
        if (candidates.Count != 1)
        {
            throw new InvalidOperationException($"Function {metadata.Name}: entry point {metadata.EntryPoint} matches {candidates.Count} methods.");
        }

        return new FunctionInvoker(metadata, type, candidates[0]);
    }

    /// <param name="services">The invocation's scoped services.</param>
    /// <param name="bind">Supplies a value for each parameter, or throws when it cannot.</param>
    public async Task<object?> InvokeAsync(IServiceProvider services, Func<ParameterInfo, object?> bind)
    {
        var instance = method.IsStatic ? null : ActivatorUtilities.CreateInstance(services, functionClass);
        try
        {
            var arguments = Parameters.Select(bind).ToArray();
            object? result;
            try
            {
                result = method.Invoke(instance, arguments);
            }
            catch (TargetInvocationException e) when (e.InnerException is not null)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
                throw;
            }

            return result switch
            {
                Task task => await UnwrapAsync(task),
                ValueTask valueTask => await UnwrapValueTaskAsync(valueTask),
                _ => result,
            };
        }
        finally
        {
            switch (instance)
            {
                case IAsyncDisposable asyncDisposable: await asyncDisposable.DisposeAsync(); break;
                case IDisposable disposable: disposable.Dispose(); break;
            }
        }
    }

    private static async Task<object?> UnwrapAsync(Task task)
    {
        await task;
        var type = task.GetType();
        return type.IsGenericType && type.GetGenericArguments()[0].Name != "VoidTaskResult"
            ? type.GetProperty(nameof(Task<object>.Result))!.GetValue(task)
            : null;
    }

    private static async Task<object?> UnwrapValueTaskAsync(ValueTask task)
    {
        await task;
        return null;
    }
}
