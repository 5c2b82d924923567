using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Referrals.Functions.Storage;

namespace Referrals.IntegrationTests;

/// <summary>
/// Issue 8, point 2: "a claim must never outlive a referral that was not stored". The intake request dies at each of
/// its storage requests in turn (before the request reaches storage, and after it was carried out), the client retries
/// with the same Idempotency-Key against a healthy instance, and the reconciler runs: every reference any answer named
/// exists, and each submission ends up routed and confirmed exactly once (or, for a repeat, as a stub of the owner's).
/// </summary>
[Collection(PipelineCollection.Name)]
public class CrashTests(PipelineFixture fixture)
{
    /// <summary>Stands for the process dying: nothing after it runs, and no handler treats it as a storage failure.</summary>
    private sealed class SimulatedCrash() : Exception("simulated crash");

    /// <summary>
    /// Counts the storage requests made while serving POST /api/referrals and dies at the chosen one. Background
    /// work (queue triggers, timers) has no request context and passes untouched.
    /// </summary>
    private sealed class CrashSwitch(IHttpContextAccessor accessor) : HttpPipelinePolicy
    {
        private int crashAt;
        private bool afterSending;
        private int seen;

        public void Arm(int step, bool after)
        {
            crashAt = step;
            afterSending = after;
            Interlocked.Exchange(ref seen, 0);
        }

        public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            var crash = Counts();
            if (crash && !afterSending) throw new SimulatedCrash();
            ProcessNext(message, pipeline);
            if (crash) throw new SimulatedCrash();
        }

        public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            var crash = Counts();
            if (crash && !afterSending) throw new SimulatedCrash();
            await ProcessNextAsync(message, pipeline);
            if (crash) throw new SimulatedCrash();
        }

        private bool Counts() => accessor.HttpContext?.Request.Path.Value == "/api/referrals" && Interlocked.Increment(ref seen) == crashAt;
    }

    private sealed record Case(string Name, string Email, string Client, string Key, string? OwnerId);

    private static Dictionary<string, object?> Body(string email, string name) => new()
    {
        ["name"] = name, ["email"] = email, ["state"] = "NY", ["treatment"] = "iv-ketamine-infusion",
        ["consent"] = true, ["privacyAcknowledged"] = true, ["adult"] = true,
    };

    private static async Task<HttpResponseMessage> PostAsync(HttpClient client, Case c, string name)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/referrals") { Content = JsonContent.Create(Body(c.Email, name)) };
        request.Headers.Add("X-Forwarded-For", c.Client);
        request.Headers.Add("Idempotency-Key", c.Key);
        return await client.SendAsync(request);
    }

    private static async Task<string> IdOfAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.ToString();
    }

    private TableClient Referrals => new(fixture.Azurite.ConnectionString, StorageNames.ReferralsTable);

    private async Task<List<ReferralEntity>> LiveReferralsForAsync(string email)
    {
        var rows = new List<ReferralEntity>();
        await foreach (var row in Referrals.QueryAsync<ReferralEntity>(TableClient.CreateQueryFilter($"Email eq {email}")))
        {
            rows.Add(row);
        }

        return rows;
    }

    [Fact]
    public async Task A_crash_at_any_storage_step_of_intake_never_leaves_an_answer_naming_a_referral_that_was_not_stored()
    {
        var connection = fixture.Azurite.ConnectionString;
        await using var crashing = await PipelineFixture.StartHostAsync(fixture.Azurite, services =>
        {
            services.AddHttpContextAccessor();
            services.AddSingleton<CrashSwitch>();
            services.AddSingleton(sp =>
            {
                var options = new TableClientOptions();
                options.AddPolicy(sp.GetRequiredService<CrashSwitch>(), HttpPipelinePosition.PerCall);
                return new TableServiceClient(connection, options);
            });
            services.AddSingleton(sp =>
            {
                var options = new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 };
                options.AddPolicy(sp.GetRequiredService<CrashSwitch>(), HttpPipelinePosition.PerCall);
                return new QueueServiceClient(connection, options);
            });
        });
        var crashSwitch = crashing.Services.GetRequiredService<CrashSwitch>();
        using var crashingHttp = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = crashing.BaseAddress };
        var healthy = fixture.Http;
        var named = new Dictionary<string, Case>(); // every reference any answer gave, and the submission it answered
        var cases = new List<Case>();
        var client = 0;
        Case NewCase(string name, string? ownerId = null, string? email = null) =>
            new(name, email ?? $"crash-{Guid.NewGuid():N}@example.com", $"2001:db8:dead:{Interlocked.Increment(ref client):x}::1", Guid.NewGuid().ToString(), ownerId);

        // A new submission has 7 storage requests (rate limit, per-email count, key lookup, insert, key claim, dedupe
        // claim, queue); a repeat of a live referral has 10 (the dedupe claim is read, then its owner, then the
        // notice is queued and the stub written). One step more shows the undisturbed answer.
        var plans = Enumerable.Range(1, 8).Select(step => (Repeat: false, Step: step))
            .Concat(Enumerable.Range(1, 11).Select(step => (Repeat: true, Step: step)));
        foreach (var (repeat, step) in plans)
        {
            foreach (var after in new[] { false, true })
            {
                Case c;
                if (repeat)
                {
                    var owner = NewCase("owner");
                    var ownerId = await IdOfAsync(await PostAsync(healthy, owner, "Owen Owner"));
                    c = NewCase($"repeat, step {step}, {(after ? "after" : "before")}", ownerId, owner.Email);
                }
                else
                {
                    c = NewCase($"new, step {step}, {(after ? "after" : "before")}");
                }

                cases.Add(c);
                crashSwitch.Arm(step, after);
                var dying = await PostAsync(crashingHttp, c, "Rita Retry");
                crashSwitch.Arm(0, after);
                if (dying.StatusCode == HttpStatusCode.Accepted)
                {
                    named[await IdOfAsync(dying)] = c;
                }
                else
                {
                    Assert.True(dying.StatusCode == HttpStatusCode.InternalServerError, $"{c.Name}: {dying.StatusCode}");
                }

                var retried = await IdOfAsync(await PostAsync(healthy, c, "Rita Retry"));
                Assert.True(retried != c.OwnerId, $"{c.Name}: the retry was answered with the owner's reference");
                named[retried] = c;
            }
        }

        // At once, before any reconciling: every reference named in an answer is a stored referral.
        foreach (var (id, c) in named)
        {
            Assert.True((await Referrals.GetEntityIfExistsAsync<ReferralEntity>(id, ReferralEntity.RowKeyValue)).HasValue, $"{c.Name}: {id} was answered but not stored");
        }

        // What the crashes left Received is finished by the reconciler (its clock past ReconcileAfter).
        await PipelineFixture.Reconciler(fixture.Host, PipelineFixture.PastReconcileAfter()).RequeueStuckAsync(CancellationToken.None);

        static bool IsConfirmation(JsonObject mail, Case c) =>
            mail["to"]![0]!.ToString() == c.Email && mail["subject"]!.ToString().StartsWith("We received your request", StringComparison.Ordinal);
        List<JsonObject> mails = [];
        await Eventually.UntilAsync(
            async () =>
            {
                // Both hosts work the queues (the crashing one only fails inside intake requests): read both mail sinks.
                mails = [.. (await healthy.GetFromJsonAsync<JsonArray>("/mail/messages"))!.Concat((await crashingHttp.GetFromJsonAsync<JsonArray>("/mail/messages"))!).Select(m => m!.AsObject())];
                return string.Join("; ", cases.Where(c => !mails.Any(m => IsConfirmation(m, c))).Select(c => c.Name));
            },
            missing => missing.Length == 0, TimeSpan.FromSeconds(60), "every submission's confirmation (missing listed)");
        foreach (var c in cases)
        {
            var confirmations = mails.Where(m => IsConfirmation(m, c)).ToList();
            var live = Assert.Single(await LiveReferralsForAsync(c.Email)); // the crash left no second live referral behind
            Assert.True(confirmations.Count == 1, $"{c.Name}: {confirmations.Count} confirmations");
            Assert.Contains(live.PartitionKey, confirmations[0]["subject"]!.ToString());
            await Eventually.UntilAsync(() => healthy.GetFromJsonAsync<JsonObject>(OpsApi.Referral(live.PartitionKey)), s => s!["status"]!.ToString() == "Notified",
                TimeSpan.FromSeconds(20), $"{c.Name}: {live.PartitionKey} to be routed");
            foreach (var (id, _) in named.Where(n => n.Value == c))
            {
                if (c.OwnerId is null)
                {
                    Assert.True(id == live.PartitionKey, $"{c.Name}: answered {id}, but {live.PartitionKey} is the referral that was routed");
                }
                else
                {
                    Assert.Equal(c.OwnerId, live.PartitionKey);
                    var stub = (await healthy.GetFromJsonAsync<JsonObject>(OpsApi.Referral(id)))!;
                    Assert.True(stub["status"]!.ToString() == "Duplicate" && stub["duplicateOf"]!.ToString() == c.OwnerId, $"{c.Name}: {id} is {stub}");
                }
            }
        }

        // Nothing is left waiting for a reconciler that already ran.
        var cutoff = DateTimeOffset.UtcNow;
        await foreach (var stuck in Referrals.QueryAsync<ReferralEntity>(TableClient.CreateQueryFilter($"Status eq {"Received"} and ReceivedAt lt {cutoff}")))
        {
            Assert.DoesNotContain(stuck.PartitionKey, named.Keys);
        }
    }

    /// <summary>
    /// The same promise with a real process: a DevHost (the built dll) is killed with SIGKILL in the middle of a burst
    /// of submissions; every client retries with its key against a healthy instance. Whatever the kill interrupted,
    /// an answer given before it and the retry's answer agree, every answered reference exists, and after the
    /// reconciler each submission is one live referral that gets routed. (Messages the dead process had taken stay
    /// invisible for the queue lease, so this checks routing; the deterministic test above checks the emails too.)
    /// </summary>
    [Fact]
    public async Task A_host_killed_mid_burst_leaves_every_answered_reference_stored_and_each_submission_routed_once()
    {
        var settings = PipelineFixture.Settings(fixture.Azurite);
        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = AppContext.BaseDirectory };
        start.ArgumentList.Add("exec");
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Referrals.DevHost.dll"));
        foreach (var (key, value) in settings)
        {
            start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        using var victim = Process.Start(start)!;
        victim.OutputDataReceived += (_, _) => { };
        victim.ErrorDataReceived += (_, _) => { };
        victim.BeginOutputReadLine();
        victim.BeginErrorReadLine();
        try
        {
            using var victimHttp = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false })
            {
                BaseAddress = new Uri($"http://127.0.0.1:{settings["DevHost:Port"]}/"),
                Timeout = TimeSpan.FromSeconds(20),
            };
            await Eventually.UntilAsync(
                async () =>
                {
                    try
                    {
                        return (await victimHttp.GetAsync("/api/interest")).StatusCode;
                    }
                    catch (HttpRequestException)
                    {
                        return HttpStatusCode.ServiceUnavailable;
                    }
                },
                status => status == HttpStatusCode.OK, TimeSpan.FromSeconds(60), "the DevHost process to serve");

            var cases = Enumerable.Range(0, 100).Select(i => new Case($"burst {i}", $"kill-{Guid.NewGuid():N}@example.com", $"2001:db8:beef:{i + 1:x}::1", Guid.NewGuid().ToString(), null)).ToList();
            var before = new ConcurrentDictionary<Case, string>();
            using var inFlight = new SemaphoreSlim(6);
            await Task.WhenAll(cases.Select(async c =>
            {
                await inFlight.WaitAsync();
                try
                {
                    var response = await PostAsync(victimHttp, c, "Kim Killed");
                    if (response.StatusCode == HttpStatusCode.Accepted)
                    {
                        before[c] = await IdOfAsync(response);
                        if (before.Count == 30)
                        {
                            victim.Kill(); // SIGKILL: no shutdown, no finally blocks, mid-request for the others in flight
                        }
                    }
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
                {
                    // No answer: the process died under this request (or before it).
                }
                finally
                {
                    inFlight.Release();
                }
            }));
            Assert.True(victim.WaitForExit(TimeSpan.FromSeconds(10)), "the DevHost process was not killed");

            var answers = new ConcurrentDictionary<Case, string>();
            await Task.WhenAll(cases.Select(async c =>
            {
                await inFlight.WaitAsync();
                try
                {
                    answers[c] = await IdOfAsync(await PostAsync(fixture.Http, c, "Kim Killed"));
                }
                finally
                {
                    inFlight.Release();
                }
            }));

            foreach (var (c, id) in before)
            {
                Assert.True(answers[c] == id, $"{c.Name}: answered {id} before the kill and {answers[c]} after");
            }

            foreach (var (c, id) in answers)
            {
                Assert.True((await Referrals.GetEntityIfExistsAsync<ReferralEntity>(id, ReferralEntity.RowKeyValue)).HasValue, $"{c.Name}: {id} was answered but not stored");
            }

            await PipelineFixture.Reconciler(fixture.Host, PipelineFixture.PastReconcileAfter()).RequeueStuckAsync(CancellationToken.None);
            var unsettled = await Eventually.UntilAsync(
                async () =>
                {
                    var open = new List<string>();
                    foreach (var c in cases)
                    {
                        var live = await LiveReferralsForAsync(c.Email);
                        if (live.Count != 1 || live[0].PartitionKey != answers[c] || live[0].CurrentStatus is not (Core.Referrals.ReferralStatus.Routed or Core.Referrals.ReferralStatus.Notified or Core.Referrals.ReferralStatus.NeedsTriage))
                        {
                            open.Add($"{c.Name}: {string.Join(",", live.Select(l => $"{l.PartitionKey}={l.Status}"))} (answered {answers[c]})");
                        }
                    }

                    return string.Join("; ", open);
                },
                open => open.Length == 0, TimeSpan.FromSeconds(90), "each submission to be one live, routed referral (unsettled listed)");
            Assert.Empty(unsettled);
        }
        finally
        {
            if (!victim.HasExited)
            {
                victim.Kill();
            }
        }
    }
}
