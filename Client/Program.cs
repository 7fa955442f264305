// The Aspire.Inference CLI; its commands (infer, bench, models) arrive with the pipeline issue.
Console.Error.WriteLine("usage: dotnet run --project Client -- <infer|bench|models> … (not yet implemented)");
return 2;
