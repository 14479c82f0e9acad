using Fleet.Core.Quantities;

namespace Fleet.Core.Tests.Quantities;

public sealed class QuantityTests
{
    [Theory]
    [InlineData("64Mi", 64L << 20)]
    [InlineData("512M", 512_000_000L)]
    [InlineData("1G", 1_000_000_000L)]
    [InlineData("1Gi", 1L << 30)]
    [InlineData("2Ki", 2048L)]
    [InlineData("1Ti", 1L << 40)]
    [InlineData("3T", 3_000_000_000_000L)]
    [InlineData("10k", 10_000L)]
    [InlineData("10K", 10_000L)]
    [InlineData("1.5Gi", 3L << 29)]
    [InlineData("4096", 4096L)]
    [InlineData("0", 0L)]
    public void Size_parses_binary_decimal_and_plain_bytes(string text, long bytes)
    {
        Assert.True(ByteSize.TryParse(text, out var size, out var error), error);
        Assert.Equal(bytes, size.Bytes);
    }

    [Theory]
    [InlineData("64MB")]
    [InlineData("64mi")]
    [InlineData("Mi")]
    [InlineData("-1Mi")]
    [InlineData("lots")]
    [InlineData("1.5")]
    [InlineData("")]
    public void Size_refuses_unknown_units_and_fractions_of_bytes(string text)
    {
        Assert.False(ByteSize.TryParse(text, out _, out var error));
        Assert.NotEmpty(error);
    }

    [Theory]
    [InlineData(64L << 20, "64Mi")]
    [InlineData(1L << 30, "1Gi")]
    [InlineData(1000L, "1000")]
    public void Size_prints_the_largest_exact_binary_unit(long bytes, string text)
    {
        Assert.Equal(text, new ByteSize(bytes).ToString());
    }

    [Theory]
    [InlineData("0.5", 500L)]
    [InlineData("500m", 500L)]
    [InlineData("2", 2000L)]
    [InlineData("0.25", 250L)]
    [InlineData("1m", 1L)]
    public void Cpu_parses_cores_and_millicores(string text, long millicores)
    {
        Assert.True(CpuQuantity.TryParse(text, out var cpu, out var error), error);
        Assert.Equal(millicores, cpu.Millicores);
    }

    [Theory]
    [InlineData("0.0005", "finer than a millicore")]
    [InlineData("lots", "invalid cpu")]
    [InlineData("-1", "invalid cpu")]
    [InlineData("1.5m", "invalid cpu")]
    [InlineData("m", "invalid cpu")]
    public void Cpu_refuses_bad_text(string text, string reason)
    {
        Assert.False(CpuQuantity.TryParse(text, out _, out var error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Cpu_prints_cores_when_whole_else_millicores()
    {
        Assert.Equal("2", new CpuQuantity(2000).ToString());
        Assert.Equal("250m", new CpuQuantity(250).ToString());
    }

    [Theory]
    [InlineData("60%", 60.0)]
    [InlineData("12.5%", 12.5)]
    [InlineData("150%", 150.0)]
    public void Percentage_needs_the_percent_sign(string text, double value)
    {
        Assert.True(Percentage.TryParse(text, out var percentage, out _));
        Assert.Equal(value, percentage.Value);
    }

    [Theory]
    [InlineData("60")]
    [InlineData("sixty%")]
    [InlineData("%")]
    [InlineData("-5%")]
    public void Percentage_refuses_bad_text(string text)
    {
        Assert.False(Percentage.TryParse(text, out _, out var error));
        Assert.Contains("expected a number followed by %", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("500ms", 500)]
    [InlineData("2s", 2_000)]
    [InlineData("1m", 60_000)]
    [InlineData("1h", 3_600_000)]
    [InlineData("1m30s", 90_000)]
    [InlineData("1.5s", 1_500)]
    [InlineData("0s", 0)]
    public void Duration_parses_go_style_units(string text, int milliseconds)
    {
        Assert.True(DurationText.TryParse(text, out var duration, out var error), error);
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), duration);
    }

    [Theory]
    [InlineData("2")]
    [InlineData("2 seconds")]
    [InlineData("2sec")]
    [InlineData("-1s")]
    [InlineData("")]
    [InlineData("1d")]
    public void Duration_refuses_bare_numbers_and_unknown_units(string text)
    {
        Assert.False(DurationText.TryParse(text, out _, out var error));
        Assert.Contains("expected a number with a unit ms, s, m or h", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(90_000, "1m30s")]
    [InlineData(500, "500ms")]
    [InlineData(0, "0s")]
    [InlineData(3_600_000, "1h")]
    public void Duration_formats_shortest_exact_form(int milliseconds, string text)
    {
        Assert.Equal(text, DurationText.Format(TimeSpan.FromMilliseconds(milliseconds)));
    }
}
