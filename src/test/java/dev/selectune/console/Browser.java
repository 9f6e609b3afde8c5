package dev.selectune.console;

import org.junit.jupiter.api.Assumptions;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * Debian's headless chromium driven by its chromium-driver: the paths are given, so Selenium never looks for or
 * downloads a browser. Missing, the tests are skipped on a developer's machine and fail in CI ({@code CI=true}),
 * where .ci/run installs both packages.
 */
final class Browser implements AutoCloseable {
    static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
    static final Path SCREENSHOTS = Path.of("target/console-screenshots");

    final ChromeDriver driver;
    final String base;

    private Browser(ChromeDriver driver, String base) {
        this.driver = driver;
        this.base = base;
    }

    static Browser open(int port, int width, int height) {
        for (Path p : List.of(CHROMIUM, CHROMEDRIVER)) {
            if (!Files.isExecutable(p)) {
                String message = p + " is missing: install Debian's chromium and chromium-driver"
                        + " (apt-get install chromium chromium-driver)";
                if ("true".equalsIgnoreCase(System.getenv("CI"))) {
                    fail(message + " (CI=true: the console's browser tests must run in CI)");
                }
                Assumptions.abort(message);
            }
        }
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        options.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=" + width + "," + height, "--lang=en-US");
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(CHROMEDRIVER.toFile()).usingAnyFreePort().build();
        ChromeDriver driver = new ChromeDriver(service, options);
        if (width < 500) {
            // Chromium will not open a window narrower than 500 px; a phone's width is emulated instead.
            driver.executeCdpCommand("Emulation.setDeviceMetricsOverride", Map.of("width", width, "height", height,
                    "deviceScaleFactor", 1, "mobile", true));
        }
        return new Browser(driver, "http://localhost:" + port);
    }

    void get(String path) {
        driver.get(base + path);
    }

    String path() {
        return driver.getCurrentUrl().substring(base.length());
    }

    <T> T await(Duration timeout, Function<ChromeDriver, T> condition) {
        return new WebDriverWait(driver, timeout).until(d -> condition.apply((ChromeDriver) d));
    }

    Object script(String js, Object... args) {
        return ((JavascriptExecutor) driver).executeScript(js, args);
    }

    Object asyncScript(String js, Object... args) {
        driver.manage().timeouts().scriptTimeout(Duration.ofSeconds(60));
        return ((JavascriptExecutor) driver).executeAsyncScript(js, args);
    }

    /** Saves the page as {@code target/console-screenshots/<name>.png}. */
    Path screenshot(String name) {
        try {
            Files.createDirectories(SCREENSHOTS);
            Path file = SCREENSHOTS.resolve(name + ".png");
            Files.write(file, ((TakesScreenshot) driver).getScreenshotAs(OutputType.BYTES));
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Runs axe-core in the page and returns its serious and critical violations as "rule: nodes" lines (empty when
     * there are none).
     */
    @SuppressWarnings("unchecked")
    List<String> seriousAccessibilityViolations() {
        script(AXE);
        String run = "const done = arguments[arguments.length - 1];"
                + "axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations.map(v => ({"
                + "id: v.id, impact: v.impact, help: v.help,"
                + "nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5).join(', ')}))))"
                + ".catch(e => done([{id: 'axe-error', impact: 'critical', help: String(e), nodes: ''}]));";
        List<Map<String, Object>> violations = (List<Map<String, Object>>) asyncScript(run);
        return violations.stream().filter(v -> "serious".equals(v.get("impact")) || "critical".equals(v.get("impact")))
                .map(v -> v.get("id") + " (" + v.get("impact") + "): " + v.get("help") + " at " + v.get("nodes"))
                .toList();
    }

    private static final String AXE = load("/axe/axe.min.js");

    private static String load(String resource) {
        try (InputStream in = Browser.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException(resource + " is missing from the test resources");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        driver.quit();
    }
}
