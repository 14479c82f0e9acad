using System.Diagnostics;
using System.Net.Sockets;

namespace Fleet.Images.Tests.Peers;

/// <summary>RegistryAuth is how a test registry authenticates.</summary>
internal enum RegistryAuth
{
    None,
    Htpasswd,
    Token,
}

/// <summary>
/// DockerRegistry is Debian's docker-registry (CNCF distribution 2.8) started by a test on a free
/// loopback port with its own config (the stock config is broken), stopped by PID on dispose.
/// </summary>
internal sealed class DockerRegistry : IDisposable
{
    public const string User = "fleet";
    public const string Password = "s3cret-pass";

    private readonly Process _process;

    private DockerRegistry(string directory, int port, Process process, TokenServer? tokens)
    {
        Directory = directory;
        Port = port;
        _process = process;
        Tokens = tokens;
    }

    public string Directory { get; }

    public int Port { get; }

    public TokenServer? Tokens { get; }

    /// <summary>Host is 127.0.0.1:PORT, the registry part of references.</summary>
    public string Host => $"127.0.0.1:{Port}";

    public string StorageDirectory => Path.Combine(Directory, "storage");

    public static DockerRegistry Start(RegistryAuth auth = RegistryAuth.None)
    {
        var binary = Tool.Require("docker-registry");
        var directory = System.IO.Directory.CreateTempSubdirectory("fleet-registry-").FullName;
        TokenServer? tokens = null;
        try
        {
            var port = TestPorts.Free();
            var authYaml = "";
            if (auth == RegistryAuth.Htpasswd)
            {
                var file = Path.Combine(directory, "htpasswd");
                Tool.Run("htpasswd", "-Bbc", file, User, Password);
                authYaml = $"auth:\n  htpasswd:\n    realm: fleet-test\n    path: {file}\n";
            }
            else if (auth == RegistryAuth.Token)
            {
                tokens = TokenServer.Start(User, Password);
                var bundle = Path.Combine(directory, "token-ca.pem");
                File.WriteAllText(bundle, tokens.CertificatePem);
                authYaml = $"auth:\n  token:\n    realm: {tokens.Realm}\n    service: {TokenServer.Service}\n    issuer: {TokenServer.Issuer}\n    rootcertbundle: {bundle}\n";
            }
            var config = Path.Combine(directory, "config.yml");
            File.WriteAllText(config,
                "version: 0.1\n" +
                "log:\n  level: warn\n" +
                $"storage:\n  filesystem:\n    rootdirectory: {Path.Combine(directory, "storage")}\n  delete:\n    enabled: true\n" +
                $"http:\n  addr: 127.0.0.1:{port}\n" +
                authYaml);
            var info = new ProcessStartInfo(binary) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
            info.ArgumentList.Add("serve");
            info.ArgumentList.Add(config);
            var process = Process.Start(info)!;
            process.OutputDataReceived += (_, _) => { };
            process.ErrorDataReceived += (_, _) => { };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            var registry = new DockerRegistry(directory, port, process, tokens);
            registry.WaitReady();
            return registry;
        }
        catch
        {
            tokens?.Dispose();
            System.IO.Directory.Delete(directory, recursive: true);
            throw;
        }
    }

    private void WaitReady()
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"docker-registry exited {_process.ExitCode} at start; config {Path.Combine(Directory, "config.yml")}");
            }
            try
            {
                using var client = new TcpClient();
                client.Connect("127.0.0.1", Port);
                return;
            }
            catch (SocketException)
            {
                Thread.Sleep(50);
            }
        }
        throw new TimeoutException($"docker-registry did not listen on {Host} within 20 s");
    }

    /// <summary>BlobDataPath is where the registry keeps a blob's bytes (tests tamper with it).</summary>
    public string BlobDataPath(string digest)
    {
        var hex = digest["sha256:".Length..];
        return Path.Combine(StorageDirectory, "docker", "registry", "v2", "blobs", "sha256", hex[..2], hex, "data");
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(10_000);
            }
        }
        finally
        {
            _process.Dispose();
            Tokens?.Dispose();
            System.IO.Directory.Delete(Directory, recursive: true);
        }
    }
}
