namespace Fleet.Build.Tests;

public sealed class FleetfileParserTests : IDisposable
{
    private readonly string _context = Directory.CreateTempSubdirectory("fleet-build-parse-").FullName;

    public void Dispose() => Directory.Delete(_context, recursive: true);

    [Fact]
    public void Every_instruction_parses_with_args_substituted_where_Docker_does()
    {
        File.WriteAllText(Path.Combine(_context, "app.txt"), "hi");
        var text = """
            # a comment
            ARG BASE=scratch
            FROM ${BASE} AS build
            ARG VERSION=1.0
            ARG PORT
            ENV APP_HOME=/opt/app \
                # comments inside a continuation are dropped
                GREETING="hello world"
            ENV LEGACY value with spaces
            WORKDIR $APP_HOME/bin
            COPY app.txt ${APP_HOME}/
            ADD app.txt /x
            RUN echo $VERSION \
                && true
            RUN ["/bin/echo", "exec form"]
            USER 1000:1000
            EXPOSE 80 ${PORT}/udp
            STOPSIGNAL sigquit
            LABEL version=$VERSION "org.example.name"="my app"
            CMD ["serve"]
            ENTRYPOINT /bin/app --flag
            """;
        var file = FleetfileParser.Parse(text, _context, new Dictionary<string, string> { ["PORT"] = "53" });
        var i = file.Instructions;
        Assert.Equal(new FromInstruction("scratch", "build"), i.OfType<FromInstruction>().Single() with { Line = 0, Text = "" });
        Assert.Equal(3, i.OfType<FromInstruction>().Single().Line);
        var envs = i.OfType<EnvInstruction>().ToList();
        Assert.Equal([new("APP_HOME", "/opt/app"), new("GREETING", "hello world")], envs[0].Variables);
        Assert.Equal([new("LEGACY", "value with spaces")], envs[1].Variables);
        Assert.Equal("/opt/app/bin", i.OfType<WorkdirInstruction>().Single().Path);
        var copy = i.OfType<CopyInstruction>().First();
        Assert.Equal(["app.txt"], copy.Sources);
        Assert.Equal("/opt/app/", copy.Destination);
        Assert.False(copy.IsAdd);
        Assert.True(i.OfType<CopyInstruction>().Last().IsAdd);
        var runs = i.OfType<RunInstruction>().ToList();
        Assert.Equal(["/bin/sh", "-c", "echo $VERSION     && true"], runs[0].Command);
        Assert.Equal(13, runs[0].Line);
        Assert.Equal(["/bin/echo", "exec form"], runs[1].Command);
        Assert.Equal("1000:1000", i.OfType<UserInstruction>().Single().User);
        Assert.Equal(["80/tcp", "53/udp"], i.OfType<ExposeInstruction>().Single().Ports);
        Assert.Equal("sigquit", i.OfType<StopSignalInstruction>().Single().Signal);
        Assert.Equal([new("version", "1.0"), new("org.example.name", "my app")], i.OfType<LabelInstruction>().Single().Labels);
        Assert.Equal(["serve"], i.OfType<CmdInstruction>().Single().Command);
        Assert.Equal(["/bin/sh", "-c", "/bin/app --flag"], i.OfType<EntrypointInstruction>().Single().Command);
    }

    [Fact]
    public void Build_arg_overrides_the_ARG_default()
    {
        var file = FleetfileParser.Parse("FROM scratch\nARG V=default\nENV X=$V\n", buildArgs: new Dictionary<string, string> { ["V"] = "over" });
        Assert.Equal([new("X", "over")], file.Instructions.OfType<EnvInstruction>().Single().Variables);
    }

    [Fact]
    public void STOPSIGNAL_takes_a_known_signal_and_says_where_it_does_not()
    {
        var e = Assert.Throws<FleetfileException>(() => FleetfileParser.Parse("FROM scratch\nSTOPSIGNAL SIGNOPE\nSTOPSIGNAL\nSTOPSIGNAL 99\nARG S\nSTOPSIGNAL $S\n", _context));

        Assert.Equal(
            [
                "Fleetfile:2:12: error: STOPSIGNAL: invalid signal `SIGNOPE`: expected a name like SIGTERM or a number from 1 to 64",
                "Fleetfile:3:11: error: STOPSIGNAL needs at least one argument",
                "Fleetfile:4:12: error: STOPSIGNAL: invalid signal `99`: expected a name like SIGTERM or a number from 1 to 64",
                "Fleetfile:6:12: error: STOPSIGNAL `$S` is empty after substitution",
            ],
            e.Errors.Select(x => x.ToString()));
    }

    [Fact]
    public void Every_mistake_is_reported_at_once_with_its_position()
    {
        var text = """
            FROM scratch
            COPPY a b
            RUN ["/bin/sh", "-c" "oops"]
              COPY ../secret /etc/secret
            ENTRYPOINT ["x", 1]
            """;
        var e = Assert.Throws<FleetfileException>(() => FleetfileParser.Parse(text, _context));
        var lines = e.Errors.Select(x => x.ToString()).ToList();
        Assert.Equal(4, lines.Count);
        Assert.Equal("Fleetfile:2:1: error: unknown instruction `COPPY`; did you mean `COPY`?", lines[0]);
        Assert.StartsWith("Fleetfile:3:", lines[1], StringComparison.Ordinal);
        Assert.Contains("RUN exec form is not valid JSON", lines[1], StringComparison.Ordinal);
        Assert.Equal($"Fleetfile:4:8: error: COPY source `../secret` is outside the build context {_context}", lines[2]);
        Assert.Equal("Fleetfile:5:12: error: ENTRYPOINT exec form must be a JSON array of strings", lines[3]);
        Assert.Equal(string.Join('\n', lines), e.Message);
    }

    [Fact]
    public void Missing_FROM_is_an_error()
    {
        var e = Assert.Throws<FleetfileException>(() => FleetfileParser.Parse("# nothing\n"));
        Assert.Equal("Fleetfile:1:1: error: missing FROM: a Fleetfile must start with FROM image (or FROM scratch)", Assert.Single(e.Errors).ToString());

        var before = Assert.Throws<FleetfileException>(() => FleetfileParser.Parse("RUN true\nFROM scratch\n"));
        Assert.Equal("Fleetfile:1:1: error: RUN before FROM: a Fleetfile must start with FROM (only ARG may precede it)", Assert.Single(before.Errors).ToString());
    }
}
