// Notification fault run: the real app under the DevHost (in this process), on its own Azurite (disk mode), with SendGrid
// faked by WireMock (some 500s and latency) and the email ledger's completion writes failing at a set rate. It measures
// how often an email SendGrid accepted is sent again: the window that the claim-then-complete ledger leaves open.
// Usage: dotnet run -c Release --project bench/Referrals.Bench -- ledger-faults [referrals=200] [ledgerFaultRate=0.05] [sendGrid5xxRate=0.05]
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using Azure.Core;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using Microsoft.Extensions.DependencyInjection;
using Referrals.DevHost;
using Referrals.DevHost.Storage;
using Referrals.Functions.Storage;
using WireMockRequest = WireMock.RequestBuilders.Request;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace Referrals.Bench.LedgerFaults;

internal static class LedgerFaultsRun
{
    public static async Task<int> RunAsync(string[] args)
    {
        var referralCount = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 200;
        var ledgerFaultRate = args.Length > 1 ? double.Parse(args[1], CultureInfo.InvariantCulture) : 0.05;
        var sendGridFaultRate = args.Length > 2 ? double.Parse(args[2], CultureInfo.InvariantCulture) : 0.05;

        var executable = AzuriteProcess.FindExecutable(AppContext.BaseDirectory) ?? throw new InvalidOperationException("Run 'npm ci' first.");
        var data = Path.Combine(Path.GetTempPath(), "referrals-bench-" + Guid.NewGuid().ToString("N"));
        await using var azurite = await AzuriteProcess.StartAsync(executable, new StorageEndpoints(FreePort(), FreePort(), FreePort()), data);
        using var sendGrid = WireMockServer.Start(new WireMock.Settings.WireMockServerSettings { DisableJsonBodyParsing = true });
        sendGrid.Given(WireMockRequest.Create().WithPath("/v3/mail/send").UsingPost()).RespondWith(Response.Create()
            .WithCallback(_ => new WireMock.ResponseMessage { StatusCode = Random.Shared.NextDouble() < sendGridFaultRate ? 500 : 202 })
            .WithRandomDelay(5, 40));

        var port = FreePort();
        var ledgerFaults = new FailingWrites(ledgerFaultRate);
        await using var host = await DevHostApp.StartAsync([], new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = azurite.Endpoints.ConnectionString,
            ["DevHost:Port"] = port.ToString(CultureInfo.InvariantCulture),
            ["DevHost:Azurite:AutoStart"] = "false",
            // The local fast values the DevHost's appsettings.json gives (this in-process host does not read that file).
            ["AzureFunctionsJobHost:extensions:queues:maxPollingInterval"] = "00:00:02",
            ["AzureFunctionsJobHost:extensions:queues:visibilityTimeout"] = "00:00:05",
            ["Email:SendGridHost"] = sendGrid.Url,
            ["Email:SendGridApiKey"] = "SG.bench",
            ["Email:FromAddress"] = "referrals@clinic.test",
            ["Email:FromName"] = "Clinic referrals",
            ["Email:TriageAddress"] = "triage@clinic.test",
            ["Email:Resilience:MinimumThroughput"] = "100000",
            ["Routing:OperatorsAddress"] = "operators@clinic.test",
            ["Security:ActiveKeyId"] = "bench",
            ["Security:Keys:bench"] = "bench-secret-key-0123456789-abcdefghij",
            ["Intake:RateLimitPerHour"] = "10000",
            ["Intake:ConfirmationsPerDay"] = "100",
            ["Logging:LogLevel:Default"] = "Error",
        }, services =>
        {
            // Only the ledger's writes fail: SendGrid has accepted, then recording it fails.
            var options = new TableClientOptions();
            options.AddPolicy(ledgerFaults, HttpPipelinePosition.PerCall);
            services.AddKeyedSingleton(StorageNames.EmailLedgerTable, (_, _) => new TableClient(azurite.Endpoints.ConnectionString, StorageNames.EmailLedgerTable, options));
        });

        using var http = new HttpClient { BaseAddress = host.BaseAddress };
        var states = new[] { "NY", "CA", "TX", "FL", "IL", "MA", "WA", "CO", "MI", "PA" };
        var clock = Stopwatch.StartNew();
        var ids = new List<string>();
        foreach (var batch in Enumerable.Range(0, referralCount).Chunk(8))
        {
            var responses = await Task.WhenAll(batch.Select(i => http.PostAsJsonAsync("/api/referrals", new
            {
                name = "Bench Visitor", email = $"bench-{i}@example.com", state = states[i % states.Length], treatment = "consultation",
                consent = true, privacyAcknowledged = true, adult = true,
            })));
            foreach (var response in responses)
            {
                ids.Add((await response.Content.ReadFromJsonAsync<System.Text.Json.Nodes.JsonObject>())!["id"]!.ToString());
            }
        }

        var intakeSeconds = clock.Elapsed.TotalSeconds;
        var referrals = new TableClient(azurite.Endpoints.ConnectionString, StorageNames.ReferralsTable);
        var queues = new QueueServiceClient(azurite.Endpoints.ConnectionString);
        var maxDepth = 0;
        var drainLimit = Stopwatch.StartNew();
        while (drainLimit.Elapsed < TimeSpan.FromMinutes(10))
        {
            var depth = 0;
            foreach (var name in StorageNames.Queues)
            {
                depth += (await queues.GetQueueClient(name).GetPropertiesAsync()).Value.ApproximateMessagesCount;
            }

            maxDepth = Math.Max(maxDepth, depth);
            var pending = 0;
            await foreach (var row in referrals.QueryAsync<ReferralEntity>(TableClient.CreateQueryFilter($"RowKey eq {ReferralEntity.RowKeyValue} and (Status eq {"Received"} or Status eq {"Routed"})")))
            {
                pending++;
            }

            if (pending == 0 && depth == 0)
            {
                break;
            }

            await Task.Delay(500);
        }

        var totalSeconds = clock.Elapsed.TotalSeconds;
        var accepted = sendGrid.LogEntries.Where(e => e.ResponseMessage.StatusCode is 202).ToList();
        var byEmail = accepted.GroupBy(e => Key(e.RequestMessage.Body ?? "")).ToList();
        var duplicates = byEmail.Sum(g => g.Count() - 1);
        Console.WriteLine($"referrals:                  {referralCount}");
        Console.WriteLine($"intake:                     {intakeSeconds:F1} s ({referralCount / intakeSeconds:F1} referrals/s)");
        Console.WriteLine($"end to end:                 {totalSeconds:F1} s ({referralCount / totalSeconds:F1} referrals/s)");
        Console.WriteLine($"max queue depth (all):      {maxDepth}");
        Console.WriteLine($"SendGrid requests:          {sendGrid.LogEntries.Count()} ({sendGrid.LogEntries.Count(e => e.ResponseMessage.StatusCode is 500)} answered 500 at rate {sendGridFaultRate:P0})");
        Console.WriteLine($"ledger writes failed:       {ledgerFaults.Failed} of {ledgerFaults.Seen} (rate {ledgerFaultRate:P0})");
        Console.WriteLine($"distinct emails accepted:   {byEmail.Count}");
        Console.WriteLine($"accepted more than once:    {duplicates} ({(byEmail.Count == 0 ? 0 : (double)duplicates / byEmail.Count):P2} of emails)");
        try { Directory.Delete(data, recursive: true); } catch (IOException) { }
        return 0;
    }

    // An email is its recipient and subject (the subject carries the reference).
    private static string Key(string body)
    {
        var json = System.Text.Json.Nodes.JsonNode.Parse(body)!;
        return json["personalizations"]![0]!["to"]![0]!["email"] + "|" + (json["subject"] ?? json["personalizations"]![0]!["subject"]);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
