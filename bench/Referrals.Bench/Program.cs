// Benchmarks of the referral pipeline; see bench/README.md. This file only picks the run.
using Referrals.Bench.Chaos;
using Referrals.Bench.Duplicates;
using Referrals.Bench.LedgerFaults;
using Referrals.Bench.Pipeline;

var mode = args.Length > 0 ? args[0] : "";
var rest = args.Skip(1).ToArray();
return mode switch
{
    "pipeline" => await PipelineRun.RunAsync(rest),
    "ledger-faults" => await LedgerFaultsRun.RunAsync(rest),
    "duplicates" => await DuplicatesRun.RunAsync(rest),
    "chaos" => await ChaosRun.RunAsync(rest),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("""
        usage: dotnet run -c Release --project bench/Referrals.Bench -- <mode> [options]
          pipeline       [--sequential 20] [--small-burst 300] [--burst 2000] [--concurrency 32] [--drain-timeout 300] [--keep]
                         the issue 9 figures against a separate DevHost process (see bench/README.md)
          ledger-faults  [referrals=200] [ledgerFaultRate=0.05] [sendGrid5xxRate=0.05]
                         how often an email SendGrid accepted is sent again when ledger writes fail
          duplicates     [--referrals 300] [--hang 0.05] [--webhook on|off] [--grace 00:00:20] [--keep]
                         emails sent twice when SendGrid answers too late, with and without the Event Webhook
          chaos          [--smoke] [--referrals 5000] [--kills 10] [--azurite-restarts 2] [--concurrency 16] [--keep]
                         nothing lost across DevHost kills, Azurite restarts and SendGrid faults; --smoke is CI's version
        """);
    return 2;
}
