using System.CommandLine;
using System.Globalization;
using Engine.Bucket;

namespace Client.Cli;

/// <summary>
/// <c>models publish DIR --model NAME [--version N] [--bucket LOCATION]</c>: uploads a directory as a new version of a model
/// (files first, model.json last, listing every file with its sha256), to a directory bucket, S3 or Azure Blob Storage. ModelSync notices it
/// within its poll interval, validates it and rolls it out.
/// </summary>
public sealed class ModelsPublishCommand : Command
{
    /// <summary>Aspire's name for the bucket's location; the default of <c>--bucket</c>.</summary>
    public const string BucketVariable = "ConnectionStrings__models";

    public Argument<DirectoryInfo> Directory { get; } = new("dir")
    {
        Description = "Directory holding model.json and the files it names (model.onnx, labels, samples)",
    };

    public Option<string> Model { get; } = new("--model", "-m") { Description = "Model name", Required = true };

    public Option<int?> Version { get; } = new("--version")
    {
        Description = "Version to publish (default: one above the newest in the bucket)",
        HelpName = "N",
    };

    public Option<string> Bucket { get; } = new("--bucket", "-b")
    {
        Description = $"The bucket: a directory, s3://bucket/prefix?endpoint=http://host:port, or an Azure Storage connection string with ;ContainerName=NAME (default: ${BucketVariable})",
        HelpName = "LOCATION",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable(BucketVariable) ?? "",
    };

    public ModelsPublishCommand(CliConsole console)
        : base("publish", "Upload a directory as a new version of a model to the bucket (the manifest last)")
    {
        Arguments.Add(Directory);
        Options.Add(Model);
        Options.Add(Version);
        Options.Add(Bucket);
        Directory.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<DirectoryInfo>() is { Exists: false } dir)
            {
                result.AddError($"{dir.FullName} does not exist.");
            }
        });
        Version.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int?>() is < 1)
            {
                result.AddError("--version is a positive integer.");
            }
        });
        Model.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<string>() is { } name && !Contracts.Models.ModelNames.IsValid(name))
            {
                result.AddError($"'{name}' is not a model name: 1-64 lower-case letters, digits, '.', '_' or '-'.");
            }
        });
        SetAction((parse, cancellationToken) => RunAsync(console, parse, cancellationToken));
    }

    private async Task<int> RunAsync(CliConsole console, ParseResult parse, CancellationToken cancellationToken)
    {
        var location = parse.GetValue(Bucket);
        if (string.IsNullOrWhiteSpace(location))
        {
            await console.Error.WriteLineAsync($"error: no bucket: pass --bucket or set {BucketVariable}.");
            return ExitCodes.UsageOrConnection;
        }

        IModelBucket bucket;
        try
        {
            bucket = ModelBuckets.Open(location);
        }
        catch (FormatException e)
        {
            await console.Error.WriteLineAsync($"error: {e.Message}");
            return ExitCodes.UsageOrConnection;
        }

        try
        {
            var model = parse.GetValue(Model)!;
            var progress = new Progress(console.Error);
            var published = await ModelPublisher.PublishAsync(
                bucket, parse.GetValue(Directory)!.FullName, model, parse.GetValue(Version), progress, cancellationToken);
            await console.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"published {published.Model} version {published.Version} to {bucket.Location} ({published.Files.Count + 1} files, {published.Files.Sum(f => f.Size):N0} bytes)"));
            return ExitCodes.Ok;
        }
        catch (PublishException e)
        {
            await console.Error.WriteLineAsync($"error: {e.Message}");
            return ExitCodes.UsageOrConnection;
        }
        catch (IOException e)
        {
            await console.Error.WriteLineAsync($"error: {e.Message}");
            return ExitCodes.UsageOrConnection;
        }
        finally
        {
            (bucket as IDisposable)?.Dispose();
        }
    }

    /// <summary>One line per file as it starts, on stderr (results go to stdout).</summary>
    private sealed class Progress(TextWriter error) : IProgress<PublishProgress>
    {
        public void Report(PublishProgress value)
        {
            if (value.FilesDone == value.FilesTotal)
            {
                return;
            }

            var percent = value.BytesTotal == 0 ? 100 : 100.0 * value.BytesDone / value.BytesTotal;
            error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"[{value.FilesDone + 1}/{value.FilesTotal}] {value.File} ({percent:0}% of {value.BytesTotal:N0} bytes uploaded)"));
        }
    }
}
