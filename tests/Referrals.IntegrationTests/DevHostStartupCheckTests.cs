using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Http;
using Referrals.DevHost.Functions;

namespace Referrals.IntegrationTests;

/// <summary>The DevHost refuses at start-up what it could not serve as Azure would (crafted metadata over small fake functions).</summary>
public class DevHostStartupCheckTests
{
    private static FunctionBinding HttpTrigger(string name = "request") =>
        new(name, "httpTrigger", "In", new JsonObject { ["methods"] = new JsonArray("get"), ["authLevel"] = "Anonymous" });

    private static readonly FunctionBinding HttpReturn = new("$return", "http", "Out", new JsonObject());

    private static FunctionInvoker Invoker(string method, IReadOnlyList<FunctionBinding> bindings, JsonObject? retry = null) =>
        FunctionInvoker.Create(
            new FunctionMetadata(method, Path.GetFileName(typeof(FakeFunctions).Assembly.Location), $"{typeof(FakeFunctions).FullName}.{method}", bindings, retry),
            AppContext.BaseDirectory);

    private static string Refusal(FunctionInvoker invoker) =>
        Assert.Throws<InvalidOperationException>(() => FidelityCheck.Verify([invoker])).Message;

    [Fact]
    public void A_faithful_http_function_passes()
    {
        FidelityCheck.Verify([Invoker(nameof(FakeFunctions.Faithful), [HttpTrigger(), HttpReturn])]);
        FidelityCheck.Verify([Invoker(nameof(FakeFunctions.FaithfulAction), [HttpTrigger(), HttpReturn])]);
    }

    [Fact]
    public void Every_function_of_the_app_passes()
    {
        var app = FunctionsApp.Load(FunctionsApp.BuiltDirectory!, 2);

        FidelityCheck.Verify(app.Functions.Select(f => FunctionInvoker.Create(f, app.Directory)));
    }

    [Fact]
    public void A_binding_other_than_the_trigger_and_the_http_return_is_refused()
    {
        var queueOutput = new FunctionBinding("outbox", "queue", "Out", new JsonObject { ["queueName"] = "outbox" });

        var message = Refusal(Invoker(nameof(FakeFunctions.Faithful), [HttpTrigger(), HttpReturn, queueOutput]));

        Assert.Contains("Faithful: binding 'outbox' (queue, Out) is not served by the DevHost", message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_retry_block_is_refused()
    {
        var retry = new JsonObject { ["strategy"] = "fixedDelay", ["maxRetryCount"] = 3, ["delayInterval"] = "00:00:05" };

        var message = Refusal(Invoker(nameof(FakeFunctions.Faithful), [HttpTrigger(), HttpReturn], retry));

        Assert.Contains("a retry policy", message, StringComparison.Ordinal);
        Assert.Contains("fixedDelay", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(nameof(FakeFunctions.TakesHttpContext), "parameter 'context' (HttpContext) is not bound by the worker")]
    [InlineData(nameof(FakeFunctions.TakesAPoco), "parameter 'body' (Probe) is not bound by the worker")]
    [InlineData(nameof(FakeFunctions.TriggerIsRequestData), "the trigger parameter 'request' is a HttpRequestData")]
    public void An_http_parameter_the_worker_would_not_bind_is_refused(string method, string expected)
    {
        var message = Refusal(Invoker(method, [HttpTrigger(), HttpReturn]));

        Assert.Contains(expected, message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(nameof(FakeFunctions.ReturnsAnObject), "returns Probe")]
    [InlineData(nameof(FakeFunctions.ReturnsATaskOfString), "returns Task`1")]
    [InlineData(nameof(FakeFunctions.ReturnsNothing), "returns Task")]
    public void An_http_result_other_than_IResult_or_IActionResult_is_refused(string method, string expected)
    {
        var message = Refusal(Invoker(method, [HttpTrigger(), HttpReturn]));

        Assert.Contains($"{method}: {expected}", message, StringComparison.Ordinal);
    }
}

/// <summary>Function methods written as in the app, some of them in ways the DevHost must refuse.</summary>
public sealed class FakeFunctions
{
    public sealed record Probe(string Name);

    [Function(nameof(Faithful))]
    public Task<IResult> Faithful([HttpTrigger(AuthorizationLevel.Anonymous, "get")] HttpRequest request, string id, int? page, CancellationToken cancellationToken, FunctionContext context) =>
        Task.FromResult(Results.Ok());

    [Function(nameof(FaithfulAction))]
    public IActionResult FaithfulAction([HttpTrigger(AuthorizationLevel.Anonymous, "get")] HttpRequest request) => new OkResult();

    [Function(nameof(TakesHttpContext))]
    public IResult TakesHttpContext([HttpTrigger(AuthorizationLevel.Anonymous, "get")] HttpRequest request, HttpContext context) => Results.Ok();

    [Function(nameof(TakesAPoco))]
    public IResult TakesAPoco([HttpTrigger(AuthorizationLevel.Anonymous, "get")] HttpRequest request, Probe body) => Results.Ok();

    [Function(nameof(TriggerIsRequestData))]
    public IResult TriggerIsRequestData([HttpTrigger(AuthorizationLevel.Anonymous, "get")] HttpRequestData request) => Results.Ok();

    [Function(nameof(ReturnsAnObject))]
    public Probe ReturnsAnObject([HttpTrigger(AuthorizationLevel.Anonymous, "get")] HttpRequest request) => new("x");

    [Function(nameof(ReturnsATaskOfString))]
    public Task<string> ReturnsATaskOfString([HttpTrigger(AuthorizationLevel.Anonymous, "get")] HttpRequest request) => Task.FromResult("x");

    [Function(nameof(ReturnsNothing))]
    public Task ReturnsNothing([HttpTrigger(AuthorizationLevel.Anonymous, "get")] HttpRequest request) => Task.CompletedTask;
}
