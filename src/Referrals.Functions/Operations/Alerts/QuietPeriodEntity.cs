using Azure;
using Azure.Data.Tables;

namespace Referrals.Functions.Operations.Alerts;

/// <summary>
/// A condition's quiet period, in its alert partition: no alert or digest of that condition goes out before
/// <see cref="QuietUntil"/>. Whoever moves it on (ETag-guarded) is the one sender of that moment.
/// </summary>
public sealed class QuietPeriodEntity : ITableEntity
{
    public const string RowKeyValue = "quiet-period";

    public string PartitionKey { get; set; } = "";
    public string RowKey { get; set; } = RowKeyValue;
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }

    public DateTimeOffset QuietUntil { get; set; }
}
