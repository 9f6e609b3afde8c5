package dev.selectune.diffusion;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import dev.selectune.diffusion.golden.GoldenCaseRun;
import dev.selectune.diffusion.golden.GoldenCheck;
import dev.selectune.diffusion.golden.GoldenPlan;
import dev.selectune.diffusion.nn.Autograd;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.io.File;
import java.io.IOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Runs every golden case (each folder with a golden.json under the test resources' {@code golden/}, plus every
 * folder of the system property {@code golden.cases}) and checks every entry against the reference, one test per
 * entry, named {@code <case>/<entry>}; the input entries a check consumes are named after an arrow.
 *
 * <p>A case that cannot be opened, an entry that no family understands, and an input that no check consumes are
 * failing tests: a new case with an unknown entry kind must not pass by being skipped.
 *
 * <p>Tolerances (REFERENCE.md): components {@code 1e-4 * max(1, max|ref|)}; {@code pipe.latents_out} and
 * {@code pipe.image*} {@code 1e-3 * max(1, max|ref|)}; {@code lora.grad.*} {@code 1e-3 * max|ref|}; integer
 * entries (token ids, timesteps) exactly.
 */
class GoldenReferenceTest {
    private static final List<GoldenCaseRun> OPEN = new ArrayList<>();

    @TestFactory
    Stream<DynamicNode> goldenCases() {
        List<Path> cases = caseFolders();
        if (cases.isEmpty()) {
            return Stream.of(DynamicTest.dynamicTest("no golden cases", () -> fail("no golden case folder found")));
        }
        return cases.stream().map(GoldenReferenceTest::caseContainer);
    }

    @AfterAll
    static void closeCases() {
        OPEN.forEach(GoldenCaseRun::close);
        OPEN.clear();
    }

    static List<Path> caseFolders() {
        Set<Path> found = new LinkedHashSet<>();
        URL bundled = GoldenReferenceTest.class.getResource("/golden");
        if (bundled != null) {
            try (Stream<Path> children = Files.list(Path.of(bundled.toURI()))) {
                children.filter(p -> Files.isRegularFile(p.resolve("golden.json"))).sorted().forEach(found::add);
            } catch (IOException | URISyntaxException e) {
                throw new IllegalStateException("cannot list golden cases in " + bundled + ": " + e, e);
            }
        }
        String extra = System.getProperty("golden.cases", "");
        for (String p : extra.split(File.pathSeparator)) {
            if (!p.isBlank()) {
                found.add(Path.of(p.trim()).toAbsolutePath().normalize());
            }
        }
        return new ArrayList<>(found);
    }

    private static DynamicContainer caseContainer(Path dir) {
        String name = dir.getFileName().toString();
        GoldenCaseRun run;
        try {
            run = GoldenCaseRun.open(dir);
        } catch (RuntimeException e) {
            return DynamicContainer.dynamicContainer(name, Stream.of(DynamicTest.dynamicTest(name + "/load",
                    () -> fail("cannot load golden case " + dir + ": " + e.getMessage(), e))));
        }
        OPEN.add(run);
        List<DynamicNode> tests = new ArrayList<>();
        GoldenPlan plan = GoldenPlan.of(run);
        plan.planningErrors().forEach((family, e) -> tests.add(DynamicTest.dynamicTest(name + "/" + family,
                () -> fail(name + "/" + family + ": cannot plan checks: " + e, e))));
        for (GoldenCheck c : plan.checks().values()) {
            tests.add(DynamicTest.dynamicTest(c.testName(name), () -> verify(run, c)));
        }
        for (String entry : plan.unknownEntries()) {
            tests.add(DynamicTest.dynamicTest(name + "/" + entry, () -> fail(name + "/" + entry
                    + ": no check understands this entry (" + run.describe(entry).get("description") + ")")));
        }
        return DynamicContainer.dynamicContainer(name, tests.stream());
    }

    private static void verify(GoldenCaseRun run, GoldenCheck check) {
        String entry = check.entry();
        NDArray actual = Autograd.noGrad(() -> check.actual().get());
        NDArray ref = run.tensor(entry);
        String where = run.name() + "/" + entry;
        assertEquals(ref.getShape(), actual.getShape(), where + ": shape");
        if (ref.getDataType().isInteger()) {
            assertArrayEquals(ref.toLongArray(), actual.toType(DataType.INT64, false).toLongArray(), where + ": values");
            return;
        }
        float[] r = ref.toFloatArray();
        float[] a = actual.toType(DataType.FLOAT32, false).toFloatArray();
        double maxRef = 0;
        double maxDiff = 0;
        int worst = 0;
        for (int i = 0; i < r.length; i++) {
            maxRef = Math.max(maxRef, Math.abs(r[i]));
            double d = Math.abs((double) a[i] - r[i]);
            if (!(d <= maxDiff)) {
                maxDiff = d;
                worst = i;
            }
        }
        double tolerance = tolerance(entry, maxRef);
        if (!(maxDiff <= tolerance)) {
            fail(String.format("%s: max|java - ref| = %.3g > %.3g (max|ref| %.4g); at flat index %d (shape %s) java %s,"
                            + " ref %s", where, maxDiff, tolerance, maxRef, worst, Arrays.toString(ref.getShape().getShape()),
                    a[worst], r[worst]));
        }
    }

    static double tolerance(String entry, double maxAbsRef) {
        if (entry.startsWith("lora.grad.")) {
            return 1e-3 * maxAbsRef;
        }
        if (entry.equals("pipe.latents_out") || entry.startsWith("pipe.image")) {
            return 1e-3 * Math.max(1, maxAbsRef);
        }
        return 1e-4 * Math.max(1, maxAbsRef);
    }
}
