using Client.Cli;

namespace Client.Tests.Cli;

public sealed class InputFilesTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("cli-inputs-").FullName;

    [Fact]
    public void Directory_expands_to_its_images_sorted_by_name_and_not_recursively()
    {
        foreach (var name in new[] { "b.png", "a.JPG", "c.webp", "d.jpeg", "notes.txt", "e.gif" })
        {
            File.WriteAllBytes(Path.Combine(_root, name), [1]);
        }
        Directory.CreateDirectory(Path.Combine(_root, "sub"));
        File.WriteAllBytes(Path.Combine(_root, "sub", "f.png"), [1]);

        var (files, errors) = InputFiles.Expand([_root]);

        Assert.Empty(errors);
        Assert.Equal(["a.JPG", "b.png", "c.webp", "d.jpeg"], files.Select(Path.GetFileName));
    }

    [Fact]
    public void Files_keep_their_order_and_spelling_next_to_directories()
    {
        var single = Path.Combine(_root, "z.png");
        File.WriteAllBytes(single, [1]);
        var dir = Directory.CreateDirectory(Path.Combine(_root, "dir")).FullName;
        File.WriteAllBytes(Path.Combine(dir, "a.png"), [1]);

        var (files, errors) = InputFiles.Expand([single, dir]);

        Assert.Empty(errors);
        Assert.Equal([single, Path.Combine(dir, "a.png")], files);
    }

    [Fact]
    public void Missing_path_and_directory_without_images_are_errors()
    {
        var empty = Directory.CreateDirectory(Path.Combine(_root, "empty")).FullName;
        var missing = Path.Combine(_root, "missing.png");

        var (files, errors) = InputFiles.Expand([missing, empty]);

        Assert.Empty(files);
        Assert.Equal([$"no such file or directory: '{missing}'", $"no jpg, png or webp images in directory '{empty}'"], errors);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
