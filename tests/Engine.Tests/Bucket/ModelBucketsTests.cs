using Engine.Bucket;

namespace Engine.Tests.Bucket;

/// <summary>ConnectionStrings__models: which backend a value names, and how an s3:// URL is read.</summary>
public sealed class ModelBucketsTests
{
    [Fact]
    public void A_path_is_a_directory_bucket()
    {
        var bucket = ModelBuckets.Open("/srv/models");

        Assert.Equal("/srv/models", Assert.IsType<LocalModelBucket>(bucket).Root);
    }

    [Fact]
    public void S3_url_names_bucket_prefix_endpoint_and_keys()
    {
        var settings = ModelBuckets.ParseS3("s3://models/team/a?endpoint=http://127.0.0.1:4568&accessKey=K&secretKey=S&region=eu-west-1");

        Assert.Equal(new S3BucketSettings("models", "team/a/", new Uri("http://127.0.0.1:4568"), "eu-west-1", "K", "S", PathStyle: true), settings);
        // What logs and errors show: no credentials.
        Assert.Equal("s3://models/team/a/ at http://127.0.0.1:4568/", settings.Display);
    }

    [Fact]
    public void S3_url_without_endpoint_is_aws_with_virtual_host_addressing()
    {
        var settings = ModelBuckets.ParseS3("s3://my-bucket");

        Assert.Equal(("my-bucket", "", null, false), (settings.Bucket, settings.Prefix, settings.Endpoint, settings.PathStyle));
        Assert.IsType<S3ModelBucket>(ModelBuckets.Open("s3://my-bucket?region=us-east-1"));
    }

    [Theory]
    [InlineData("s3://models?colour=red", "'colour' is not a setting of an S3 bucket URL")]
    [InlineData("s3://models?endpoint=ftp://host", "endpoint 'ftp://host' must be an http(s) URL")]
    [InlineData("s3://", "is not an S3 URL")]
    public void Bad_s3_url_says_what_is_wrong(string url, string expected)
    {
        var error = Assert.Throws<FormatException>(() => ModelBuckets.ParseS3(url));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Azure_storage_connection_string_names_account_container_and_prefix()
    {
        const string account = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1";

        var settings = ModelBuckets.ParseAzureBlob(account + ";ContainerName=models;Prefix=/team/a/");

        // The bucket's own keys are taken out: Azure's client gets the account's connection string as the portal gives it.
        Assert.Equal(new AzureBlobBucketSettings(account, "models", "team/a/", "devstoreaccount1", "http://127.0.0.1:10000/devstoreaccount1"), settings);
        Assert.Equal("azure blob devstoreaccount1/models/team/a/ at http://127.0.0.1:10000/devstoreaccount1", settings.ToString());
        Assert.DoesNotContain("a2V5", settings.ToString(), StringComparison.Ordinal);
        Assert.IsType<AzureBlobModelBucket>(ModelBuckets.Open(account + ";ContainerName=models"));
    }

    [Fact]
    public void Azure_sas_connection_string_keeps_the_signature_whole()
    {
        const string sas = "BlobEndpoint=https://acct.blob.core.windows.net/;SharedAccessSignature=sv=2024-11-04&ss=b&sig=abc%3D";

        var settings = ModelBuckets.ParseAzureBlob(sas + ";ContainerName=models");

        Assert.Equal((sas, "acct", ""), (settings.ConnectionString, settings.Account, settings.Prefix));
    }

    [Theory]
    [InlineData("AccountName=a;AccountKey=a2V5", "names no container: add ;ContainerName=models")]
    [InlineData("ContainerName=models", "names no account")]
    [InlineData("BlobEndpoint=ftp://host;ContainerName=models", "BlobEndpoint 'ftp://host' must be an http(s) URL")]
    [InlineData("AccountName=a;junk;ContainerName=models", "'junk…' is not a key=value pair")]
    public void Bad_azure_connection_string_says_what_is_wrong(string connectionString, string expected)
    {
        var error = Assert.Throws<FormatException>(() => ModelBuckets.ParseAzureBlob(connectionString));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }
}
