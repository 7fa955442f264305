namespace Client.Cli;

/// <summary>Turns the FILES arguments into image paths: files as given, directories as the images they hold.</summary>
public static class InputFiles
{
    public static IReadOnlySet<string> ImageExtensions { get; } =
        new HashSet<string>([".jpg", ".jpeg", ".png", ".webp"], StringComparer.OrdinalIgnoreCase);

    /// <summary>Expands the arguments in order; a directory contributes its jpg/png/webp files (not recursive), sorted by name.</summary>
    public static (IReadOnlyList<string> Files, IReadOnlyList<string> Errors) Expand(IEnumerable<string> arguments)
    {
        var files = new List<string>();
        var errors = new List<string>();
        foreach (var argument in arguments)
        {
            if (Directory.Exists(argument))
            {
                var images = Directory.EnumerateFiles(argument)
                    .Where(f => ImageExtensions.Contains(Path.GetExtension(f)))
                    .Order(StringComparer.Ordinal)
                    .ToList();
                if (images.Count == 0)
                {
                    errors.Add($"no jpg, png or webp images in directory '{argument}'");
                }
                files.AddRange(images);
            }
            else if (File.Exists(argument))
            {
                files.Add(argument);
            }
            else
            {
                errors.Add($"no such file or directory: '{argument}'");
            }
        }
        return (files, errors);
    }
}
