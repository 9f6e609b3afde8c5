package dev.selectune.cli;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import javax.imageio.ImageIO;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code bench personalization} end to end on the committed pretrained base, in a size that takes seconds: the JSON,
 * table and chart are written, and subjects benched on two threads at once give exactly the figures of one at a time
 * (each run owns its models and managers, and every draw comes from the seed).
 */
class BenchPersonalizationCommandTest {
    @TempDir
    Path tmp;

    private JsonObject run(int parallel, String name) throws Exception {
        StringWriter err = new StringWriter();
        CommandLine cli = new CommandLine(new BenchPersonalizationCommand());
        cli.setErr(new PrintWriter(err, true));
        Path json = tmp.resolve(name + ".json");
        int code = cli.execute("--subjects", "dog,cat", "--schedules", "bp_high,dtap", "--steps", "2",
                "--eval-every", "1", "--draws-per-band", "1", "--leakage-photos", "1", "--parallel", "" + parallel,
                "--json", json.toString(), "--markdown", tmp.resolve(name + ".md").toString(),
                "--chart", tmp.resolve(name + ".png").toString());
        assertEquals(0, code, err.toString());
        return JsonParser.parseString(Files.readString(json)).getAsJsonObject();
    }

    @Test
    void twoSubjectsAtOnceGiveTheFiguresOfOneAtATime() throws Exception {
        JsonObject serial = run(1, "serial");
        JsonObject parallel = run(2, "parallel");
        assertEquals(2, parallel.get("parallel").getAsInt());
        for (String schedule : new String[] {"bp_high", "dtap"}) {
            JsonObject a = serial.getAsJsonObject("schedules").getAsJsonObject(schedule);
            JsonObject b = parallel.getAsJsonObject("schedules").getAsJsonObject(schedule);
            assertNotNull(a, schedule);
            for (String subject : new String[] {"dog", "cat"}) {
                JsonObject sa = a.getAsJsonObject("subjects").getAsJsonObject(subject);
                JsonObject sb = b.getAsJsonObject("subjects").getAsJsonObject(subject);
                for (String figure : new String[] {"specificity", "personalization", "leakage"}) {
                    assertEquals(sa.get(figure).getAsDouble(), sb.get(figure).getAsDouble(), 0.0,
                            schedule + " " + subject + " " + figure);
                }
            }
            var curve = a.getAsJsonArray("curve");
            assertEquals(3, curve.size(), "the base (step 0), step 1 and the final LoRA");
            assertEquals(2, curve.get(2).getAsJsonObject().get("step").getAsInt());
        }
        String table = Files.readString(tmp.resolve("parallel.md"));
        assertTrue(table.contains("| bp_high |") && table.contains("| dtap |"), table);
        assertNotNull(ImageIO.read(tmp.resolve("parallel.png").toFile()), "the chart is a readable PNG");
    }
}
