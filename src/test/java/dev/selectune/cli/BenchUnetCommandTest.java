package dev.selectune.cli;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.selectune.diffusion.GoldenCase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code bench unet} on the tiny golden UNet: the figures it reports per run, and the trace of one run. */
class BenchUnetCommandTest {
    @TempDir
    Path tmp;

    @Test
    void reportsEachRunWithItsPageFaultsAndTracesOneForwardAndBackward() throws Exception {
        Path json = tmp.resolve("bench.json");
        Path trace = tmp.resolve("trace.json");
        int code = new CommandLine(new BenchUnetCommand()).execute("--model",
                GoldenCase.resource("tiny-sd15").resolve("unet").toString(), "--resolution", "64", "--warmup", "0",
                "--iterations", "2", "--backward", "plain", "--json", json.toString(), "--trace", trace.toString());
        assertEquals(0, code);
        JsonObject r = JsonParser.parseString(Files.readString(json)).getAsJsonObject();
        assertEquals(2, r.getAsJsonArray("forward_runs_seconds").size());
        assertEquals(2, r.getAsJsonArray("backward_runs_seconds").size());
        assertTrue(r.get("forward_minor_page_faults").getAsLong() >= 0);
        assertTrue(r.get("backward_kernel_cpu_seconds").getAsDouble() >= 0);
        assertTrue(r.get("huge_pages").getAsString().contains("kernel THP mode"), r.get("huge_pages").getAsString());
        // libtorch's profiler saw the backward's autograd nodes, so the trace covers the whole step.
        String events = Files.readString(trace);
        assertTrue(events.contains("aten::convolution"), "no convolution in the trace");
        assertTrue(events.contains("autograd::engine::evaluate_function"), "no backward in the trace");
    }
}
