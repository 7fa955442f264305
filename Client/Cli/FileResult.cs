using Contracts.Jobs;

namespace Client.Cli;

/// <summary>
/// What became of one input file: its job's terminal record, or — when the gateway refused it before a job
/// existed — the refusal as <see cref="Error"/>.
/// </summary>
public sealed record FileResult(string File, JobRecord? Job, JobError? Error = null)
{
    public string Status => Job?.Status.ToWire() ?? "failed";

    public bool Succeeded => Job?.Status == JobStatus.Succeeded;

    public JobError? EffectiveError => Job?.Error ?? Error;
}
