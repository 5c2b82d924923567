using Microsoft.Azure.Functions.Worker;

namespace Referrals.DevHost.Functions;

/// <summary>
/// The parts of <see cref="FunctionContext"/> that functions commonly use (invocation id, services, items, and so
/// GetLogger); the gRPC-specific parts have no counterpart in the DevHost.
/// </summary>
internal sealed class DevHostFunctionContext(string functionName, IServiceProvider services, CancellationToken cancellationToken) : FunctionContext
{
    public override string InvocationId { get; } = Guid.NewGuid().ToString();
    public override string FunctionId { get; } = functionName;
    public override IServiceProvider InstanceServices { get; set; } = services;
    public override IDictionary<object, object> Items { get; set; } = new Dictionary<object, object>();
    public override CancellationToken CancellationToken { get; } = cancellationToken;

    public override TraceContext TraceContext => throw NotInDevHost();
    public override BindingContext BindingContext => throw NotInDevHost();
    public override RetryContext RetryContext => throw NotInDevHost();
    public override FunctionDefinition FunctionDefinition => throw NotInDevHost();
    public override IInvocationFeatures Features => throw NotInDevHost();

    private static NotSupportedException NotInDevHost() =>
        new("The DevHost provides FunctionContext.InvocationId, FunctionId, InstanceServices, Items and CancellationToken only.");
}
