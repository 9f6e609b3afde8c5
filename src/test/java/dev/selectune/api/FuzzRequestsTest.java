package dev.selectune.api;

import com.jayway.jsonpath.JsonPath;
import dev.selectune.training.HyperparameterRange;
import dev.selectune.training.TrainingConfig;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.http.MediaType;
import org.springframework.test.web.servlet.MvcResult;
import org.yaml.snakeyaml.Yaml;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.Reader;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.multipart;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.post;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.status;

/**
 * Some hundreds of bad requests, sent as raw bytes to the real Tomcat (so that what Tomcat itself refuses is
 * covered too): every reported case of issue 9 and systematic mutations of a valid job spec (wrong types per
 * field, out-of-range, huge, NaN and Infinity numbers, control characters in every string, missing and duplicate
 * fields), broken multipart bodies, and bad paths, parameters and methods on every endpoint of openapi.yaml.
 * Each must get a 4xx problem+json (naming the field where the case is about one), and none may store anything.
 * The cases are generated from a fixed seed, so a failure reproduces.
 */
class FuzzRequestsTest extends ServiceTestBase {
    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final List<String> TABLES = List.of("jobs", "image_sets", "images", "blobs", "job_events",
            "job_metrics", "artifacts");

    @LocalServerPort
    int port;

    /** One request: raw bytes, and the field its problem must name (null when it is not about one field). */
    private record Case(String name, byte[] request, String field) {
    }

    /** The spec's fields as openapi.yaml types them. */
    private enum Kind { STRING, INTEGER, NUMBER, BOOLEAN, STRING_ARRAY, STRING_MAP }

    private static final Map<String, Kind> FIELDS = new LinkedHashMap<>();

    static {
        for (String f : List.of("base_model", "image_set_id", "instance_prompt", "class_prompt", "schedule",
                "precision")) {
            FIELDS.put(f, Kind.STRING);
        }
        FIELDS.put("validation_prompts", Kind.STRING_ARRAY);
        FIELDS.put("metadata", Kind.STRING_MAP);
        FIELDS.put("seed", Kind.INTEGER);
        for (HyperparameterRange r : TrainingConfig.HYPERPARAMETERS.ranges()) {
            FIELDS.put(r.name(), r.integer() ? Kind.INTEGER : Kind.NUMBER);
        }
        FIELDS.put("gradient_checkpointing", Kind.BOOLEAN);
        FIELDS.put("horizontal_flip", Kind.BOOLEAN);
    }

    @Test
    void noBadRequestGetsA5xxOrAnythingButAProblemOrStoresAnything() throws Exception {
        String set = imageSet();
        String job = job(set);
        List<Case> cases = new ArrayList<>();
        specMutations(cases, set);
        randomSpecMutations(cases, set, new Random(9));
        reportedCases(cases, set);
        multipartCases(cases, set);
        endpointCases(cases, job);
        assertThat(cases.size()).isGreaterThan(300);

        Map<String, Long> before = counts();
        List<String> failures = new ArrayList<>();
        for (Case c : cases) {
            String failure = check(c, send(c.request()));
            if (failure != null) {
                failures.add(c.name() + ": " + failure);
            }
        }
        assertThat(failures).as(failures.size() + " of " + cases.size() + " cases").isEmpty();
        assertThat(counts()).isEqualTo(before);
    }

    // ---- the cases ----

    private static Map<String, Object> validSpec(String set) {
        Map<String, Object> spec = new LinkedHashMap<>();
        spec.put("base_model", "tiny-sd15");
        spec.put("image_set_id", set);
        spec.put("instance_prompt", "a photo of sks dog");
        spec.put("steps", 2);
        spec.put("seed", 7);
        return spec;
    }

    /** Every field gets every value of the wrong type, and every string field every control character. */
    private void specMutations(List<Case> cases, String set) {
        for (var field : FIELDS.entrySet()) {
            for (String bad : wrongTypes(field.getValue())) {
                cases.add(jsonCase("type " + field.getKey() + "=" + bad, raw(set, field.getKey(), bad),
                        field.getKey()));
            }
            switch (field.getValue()) {
                case STRING -> {
                    for (String ch : List.of("\\u0000", "\\u0001", "\\u001b", "\\u007f")) {
                        cases.add(jsonCase("control " + field.getKey() + " " + ch, raw(set, field.getKey(),
                                "\"x" + ch + "y\""), field.getKey()));
                    }
                }
                case STRING_ARRAY -> {
                    cases.add(jsonCase("[null] " + field.getKey(), raw(set, field.getKey(), "[null]"),
                            field.getKey() + "[0]"));
                    cases.add(jsonCase("NUL " + field.getKey(), raw(set, field.getKey(), "[\"ok\", \"a\\u0000\"]"),
                            field.getKey() + "[1]"));
                    cases.add(jsonCase("17 " + field.getKey(), raw(set, field.getKey(),
                            "[" + "\"p\",".repeat(16) + "\"p\"]"), field.getKey()));
                }
                case STRING_MAP -> cases.add(jsonCase("NUL " + field.getKey(), raw(set, field.getKey(),
                        "{\"run\": \"a\\u0000\"}"), field.getKey() + ".run"));
                case INTEGER, NUMBER -> {
                    for (String bad : List.of("NaN", "Infinity", "-Infinity", "+1", "0x10", "1e400", "-1e400",
                            "99999999999999999999999", "1" + "0".repeat(1200))) {
                        if (field.getKey().equals("seed") && bad.startsWith("1e4")) {
                            continue;
                        }
                        // Over Jackson's 1000-digit limit the parser stops without saying where: no field.
                        cases.add(jsonCase("number " + field.getKey() + "=" + abbreviate(bad),
                                raw(set, field.getKey(), bad), bad.length() > 1000 ? null : field.getKey()));
                    }
                }
                default -> {
                }
            }
        }
        for (HyperparameterRange r : TrainingConfig.HYPERPARAMETERS.ranges()) {
            double below = r.minExclusive() ? r.min() : r.min() - (r.integer() ? 1 : Math.max(1e-6, r.min() * 1e-3));
            double above = r.maxExclusive() ? r.max() : r.max() + (r.integer() ? 1 : 1e-3);
            for (double v : new double[] {below, above, 1e300, -1e300, 1e-300 * (r.min() > 0 ? 1 : -1)}) {
                String text = r.integer() && Math.abs(v) < 1e15 ? String.valueOf((long) v) : String.valueOf(v);
                if (r.contains(Double.parseDouble(text))) {
                    continue;
                }
                cases.add(jsonCase("range " + r.name() + "=" + text, raw(set, r.name(), text), r.name()));
            }
        }
        for (String required : List.of("base_model", "instance_prompt", "image_set_id")) {
            Map<String, Object> spec = validSpec(set);
            spec.remove(required);
            cases.add(jsonCase("missing " + required, JSON.writeValueAsString(spec), required));
        }
        for (String field : List.of("steps", "instance_prompt", "image_set_id", "metadata")) {
            String body = JSON.writeValueAsString(validSpec(set));
            String twice = body.substring(0, body.length() - 1) + ", \"" + field + "\": "
                    + (field.equals("metadata") ? "{}" : field.equals("steps") ? "3" : "\"again\"") + "}";
            if (body.contains("\"" + field + "\"")) {
                cases.add(jsonCase("duplicate " + field, twice, field));
            }
        }
    }

    /** Specs with one to three fields set to a random bad value (wrong type, out of range, control characters). */
    private void randomSpecMutations(List<Case> cases, String set, Random random) {
        List<String> names = new ArrayList<>(FIELDS.keySet());
        for (int i = 0; i < 120; i++) {
            StringBuilder body = new StringBuilder(JSON.writeValueAsString(validSpec(set)));
            body.setLength(body.length() - 1);
            int n = 1 + random.nextInt(3);
            List<String> mutated = new ArrayList<>();
            for (int j = 0; j < n; j++) {
                String field = names.get(random.nextInt(names.size()));
                if (mutated.contains(field) || validSpec(set).containsKey(field)) {
                    continue;
                }
                mutated.add(field);
                body.append(", \"").append(field).append("\": ").append(randomBad(FIELDS.get(field), field, random));
            }
            if (mutated.isEmpty()) {
                body.append(", \"steps\": -").append(1 + random.nextInt(1000));
                mutated.add("steps");
            }
            body.append('}');
            cases.add(jsonCase("random#" + i + " " + mutated, body.toString(), null));
        }
    }

    private static String randomBad(Kind kind, String field, Random random) {
        List<String> wrong = wrongTypes(kind);
        if (random.nextBoolean() || kind == Kind.BOOLEAN) {
            return wrong.get(random.nextInt(wrong.size()));
        }
        return switch (kind) {
            case STRING, STRING_ARRAY, STRING_MAP -> {
                // Any C0 control character but tab, LF and CR, which prompts and metadata may hold.
                int c = random.nextInt(29);
                c = c >= 13 ? c + 3 : c >= 10 ? c + 2 : c >= 9 ? c + 1 : c;
                String s = "\"" + "\\u00" + String.format("%02x", c) + "\"";
                yield kind == Kind.STRING ? s : kind == Kind.STRING_ARRAY ? "[" + s + "]" : "{\"k\": " + s + "}";
            }
            default -> {
                if (field.equals("seed")) {
                    yield "1" + "9".repeat(19 + random.nextInt(10));
                }
                HyperparameterRange r = TrainingConfig.HYPERPARAMETERS.ranges().stream().filter(x -> x.name().equals(field))
                        .findFirst().orElseThrow();
                double v = random.nextBoolean() ? r.max() + 1 + random.nextInt(1_000_000) : r.min() - 1
                        - random.nextInt(1_000_000);
                yield r.integer() ? String.valueOf((long) v) : String.valueOf(v);
            }
        };
    }

    private static List<String> wrongTypes(Kind kind) {
        return switch (kind) {
            case STRING -> List.of("123", "1.5", "true", "[]", "{}", "[\"a\"]");
            case INTEGER -> List.of("\"5\"", "5.5", "2.0", "true", "[]", "{}", "\"\"");
            case NUMBER -> List.of("\"0.1\"", "true", "[]", "{}", "\"\"", "[0.1]");
            case BOOLEAN -> List.of("1", "0", "\"true\"", "\"yes\"", "[]", "{}");
            case STRING_ARRAY -> List.of("\"a prompt\"", "[1, 2]", "[true]", "[[\"a\"]]", "{}", "3");
            case STRING_MAP -> List.of("\"run\"", "[]", "{\"run\": 1}", "{\"run\": {\"a\": \"b\"}}", "7");
        };
    }

    /** The reported cases that are not spec mutations: bodies that are not one JSON object, and Jackson's limits. */
    private void reportedCases(List<Case> cases, String set) {
        cases.add(jsonCase("empty image_set_id", raw(set, "image_set_id", "\"\""), "image_set_id"));
        cases.add(jsonCase("rank 4.7", raw(set, "rank", "4.7"), "rank"));
        for (String body : List.of("", "null", "[]", "\"spec\"", "42", "{", "{\"steps\": 2", "{} {}",
                "{\"base_model\": \"tiny-sd15\"} trailing", "[".repeat(5000), "{\"a\":".repeat(3000),
                "{\"instance_prompt\": \"" + "x".repeat(3_000_000) + "\"}", "{\"unknown\": 1}",
                "{\"steps\": 2,}", "{'steps': 2}", "{\"steps\": 0002}")) {
            cases.add(jsonCase("body " + abbreviate(body), body, null));
        }
        cases.add(new Case("body not UTF-8", http("POST", "/v1/jobs", Map.of("Content-Type", "application/json"),
                new byte[] {'{', '"', 'i', 'n', 's', 't', 'a', 'n', 'c', 'e', '_', 'p', 'r', 'o', 'm', 'p', 't', '"',
                        ':', '"', (byte) 0xff, (byte) 0xfe, '"', '}'}), null));
        for (String type : List.of("text/plain", "application/xml", "application/x-www-form-urlencoded",
                "application/json; charset=bogus", "garbage")) {
            cases.add(new Case("content type " + type, http("POST", "/v1/jobs", Map.of("Content-Type", type),
                    JSON.writeValueAsBytes(validSpec(set))), null));
        }
        cases.add(new Case("no content type", http("POST", "/v1/jobs", Map.of(),
                JSON.writeValueAsBytes(validSpec(set))), null));
        for (String key : List.of("", "k".repeat(300), "a\u0001b", "caf\u00e9")) {
            Map<String, String> headers = new LinkedHashMap<>();
            headers.put("Content-Type", "application/json");
            headers.put("Idempotency-Key", key);
            // Invalid spec as well, so that a key the service takes still stores nothing.
            cases.add(new Case("Idempotency-Key " + abbreviate(key), http("POST", "/v1/jobs", headers,
                    raw(set, "steps", "0").getBytes(StandardCharsets.UTF_8)), null));
        }
    }

    private void multipartCases(List<Case> cases, String set) {
        byte[] png = TestImages.png(64, 64);
        String spec = JSON.writeValueAsString(Map.of("base_model", "tiny-sd15", "instance_prompt", "a sks dog",
                "steps", 2));
        for (String path : List.of("/v1/image-sets", "/v1/jobs")) {
            boolean jobs = path.equals("/v1/jobs");
            List<Part> base = jobs ? List.of(Part.field("spec", "application/json", spec)) : List.of();
            cases.add(new Case(path + " multipart without boundary", http("POST", path,
                    Map.of("Content-Type", "multipart/form-data"), "hello".getBytes(StandardCharsets.UTF_8)), null));
            cases.add(new Case(path + " multipart plain body", http("POST", path,
                    Map.of("Content-Type", "multipart/form-data; boundary=XyZ"),
                    "just some text".getBytes(StandardCharsets.UTF_8)), null));
            byte[] whole = multipartBody("XyZ", with(base, Part.file("images", "a.png", "image/png", png)));
            byte[] cut = java.util.Arrays.copyOf(whole, whole.length - 12);
            cases.add(new Case(path + " unterminated multipart", http("POST", path,
                    Map.of("Content-Type", "multipart/form-data; boundary=XyZ"), cut), null));
            // Tomcat's multipart parser refuses the NUL byte itself, before any part is known: no field.
            cases.add(multipartCase(path + " NUL in filename", path,
                    with(base, Part.file("images", "a\u0000.png", "image/png", png)), null));
            cases.add(multipartCase(path + " control in filename", path,
                    with(base, Part.file("images", "a\u0007.png", "image/png", png)), "images[0]"));
            cases.add(multipartCase(path + " 600-character filename", path,
                    with(base, Part.file("images", "n".repeat(596) + ".png", "image/png", png)), "images[0]"));
            for (int count : new int[] {7, 51, 200}) {
                List<Part> parts = new ArrayList<>(base);
                for (int i = 0; i < count; i++) {
                    parts.add(Part.file("images", "i" + i + ".png", "image/png", png));
                }
                cases.add(multipartCase(path + " " + count + " images", path, parts, "images"));
            }
            cases.add(multipartCase(path + " images as a text field", path,
                    with(base, Part.field("images", "text/plain", "not a file")), jobs ? null : "images"));
            cases.add(multipartCase(path + " garbage image", path,
                    with(base, Part.file("images", "x.png", "image/png", new byte[] {1, 2, 3})), "images[0]"));
            cases.add(multipartCase(path + " part without headers", path, List.of(new Part(null, null, null,
                    "x".getBytes(StandardCharsets.UTF_8))), null));
        }
        List<Part> image = List.of(Part.file("images", "a.png", "image/png", png));
        cases.add(multipartCase("spec as text/plain", "/v1/jobs", with(image, Part.field("spec", "text/plain", spec)),
                "spec"));
        cases.add(multipartCase("spec without a type", "/v1/jobs", with(image, Part.field("spec", null, spec)),
                "spec"));
        cases.add(multipartCase("spec as a file", "/v1/jobs",
                with(image, Part.file("spec", "spec.json", "application/json", spec.getBytes(StandardCharsets.UTF_8))),
                "spec"));
        cases.add(multipartCase("spec twice", "/v1/jobs", with(with(image, Part.field("spec", "application/json",
                spec)), Part.field("spec", "application/json", spec)), "spec"));
        cases.add(multipartCase("no spec", "/v1/jobs", image, "spec"));
        cases.add(multipartCase("spec with NUL", "/v1/jobs", with(image, Part.field("spec", "application/json",
                spec.replace("a sks dog", "a sks\\u0000dog"))), "instance_prompt"));
        cases.add(multipartCase("spec with image_set_id too", "/v1/jobs", with(image, Part.field("spec",
                "application/json", raw(set, "steps", "2"))), "images"));
        cases.add(multipartCase("spec not JSON", "/v1/jobs", with(image, Part.field("spec", "application/json",
                "{steps: 2")), null));
    }

    /** For every path and method of openapi.yaml: bad ids, bad parameters, wrong methods, Tomcat-level rejections. */
    @SuppressWarnings("unchecked")
    private void endpointCases(List<Case> cases, String job) throws IOException {
        Map<String, Object> doc;
        try (Reader r = Files.newBufferedReader(Path.of("openapi.yaml"))) {
            doc = new Yaml().load(r);
        }
        Map<String, Map<String, Object>> paths = (Map<String, Map<String, Object>>) doc.get("paths");
        List<String> ids = List.of("%00", "a%00b", "%01", "%7f", "n" + "o".repeat(300), "..", "%2e%2e", "a%2Fb",
                "a%5Cb", "%ff%fe", "%c3%28", "%zz", "job_%E2%80%AE");
        for (var entry : paths.entrySet()) {
            String template = entry.getKey();
            for (String method : entry.getValue().keySet()) {
                String m = method.toUpperCase(Locale.ROOT);
                if (template.contains("{")) {
                    for (String id : ids) {
                        String path = template.replace("{id}", template.contains("{name}") ? job : id)
                                .replace("{name}", id);
                        cases.add(new Case(m + " " + abbreviate(path), http(m, path, jsonType(m), body(m)), null));
                    }
                }
                if (m.equals("GET")) {
                    String path = template.replace("{id}", job).replace("{name}", "nope.bin");
                    for (String query : queries(template)) {
                        cases.add(new Case("GET " + abbreviate(path + "?" + query), http("GET", path + "?" + query,
                                Map.of(), null), null));
                    }
                }
                for (String wrong : List.of("PUT", "PATCH", "TRACE", "DELETE", "POST")) {
                    if (entry.getValue().containsKey(wrong.toLowerCase(Locale.ROOT))) {
                        continue;
                    }
                    String path = template.replace("{id}", "job_nope").replace("{name}", "nope.bin");
                    cases.add(new Case(wrong + " " + path, http(wrong, path, jsonType(wrong), body(wrong)), null));
                }
            }
        }
        cases.add(new Case("GET events Last-Event-ID abc", http("GET", "/v1/jobs/" + job + "/events",
                Map.of("Accept", "text/event-stream", "Last-Event-ID", "abc"), null), "Last-Event-ID"));
        cases.add(new Case("GET events after=abc", http("GET", "/v1/jobs/" + job + "/events?after=abc", Map.of(),
                null), "after"));
        cases.add(new Case("GET metrics after=1e99", http("GET", "/v1/jobs/" + job + "/metrics?after=1e99", Map.of(),
                null), "after"));
        cases.add(new Case("unknown path", http("GET", "/v1/nothing-here", Map.of(), null), null));
        // "/" is the web console now (a redirect to its sign-in page); an unknown path beside it is still a problem.
        cases.add(new Case("unknown page", http("GET", "/nothing-here", Map.of(), null), null));
        cases.add(new Case("20k-character URI", http("GET", "/v1/jobs/" + "j".repeat(20_000), Map.of(), null), null));
        cases.add(new Case("10 KB header", http("GET", "/v1/jobs", Map.of("X-Filler", "f".repeat(10_240)), null),
                null));
        cases.add(new Case("no key", http("GET", "/v1/jobs", Map.of("Authorization", ""), null), null));
        cases.add(new Case("unknown key", http("GET", "/v1/jobs", Map.of("Authorization", "Bearer st_\u0001"), null),
                null));
        cases.add(new Case("TRACE", http("TRACE", "/v1/jobs", Map.of(), null), null));
        cases.add(new Case("encoded slash", http("GET", "/v1/jobs%2F" + job, Map.of(), null), null));
        cases.add(new Case("encoded backslash", http("GET", "/v1/jobs%5C" + job, Map.of(), null), null));
        cases.add(new Case("raw backslash", http("GET", "/v1/jobs\\" + job, Map.of(), null), null));
        cases.add(new Case("bad UTF-8 path", http("GET", "/v1/jobs/%C0%AF", Map.of(), null), null));
        cases.add(new Case("request line garbage", "GARBAGE\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1),
                null));
    }

    /** Bad parameters: paging ones where the endpoint pages, and undecodable or NUL ones everywhere. */
    private static List<String> queries(String template) {
        List<String> q = new ArrayList<>(List.of("x=%00", "x=%ff", "x=%zz", "%00=1", "x=%c3%28"));
        if (template.equals("/v1/jobs") || template.endsWith("/events") || template.endsWith("/metrics")) {
            q.addAll(List.of("limit=0", "limit=-1", "limit=abc", "limit=99999999999", "limit=%ff%fe", "limit=1.5",
                    "after=%00", "after=x%00y", "after=%ff", "after=%zz"));
        }
        if (template.equals("/v1/jobs")) {
            q.addAll(List.of("status=%00", "status=done", "after=" + "a".repeat(2000), "after=job_nope"));
        } else if (template.endsWith("/events") || template.endsWith("/metrics")) {
            q.addAll(List.of("after=abc", "after=99999999999999999999"));
        }
        return q;
    }

    private static Map<String, String> jsonType(String method) {
        return method.equals("POST") || method.equals("PUT") || method.equals("PATCH")
                ? Map.of("Content-Type", "application/json") : Map.of();
    }

    private static byte[] body(String method) {
        return method.equals("POST") || method.equals("PUT") || method.equals("PATCH")
                ? "{}".getBytes(StandardCharsets.UTF_8) : null;
    }

    // ---- building requests ----

    /** The valid spec with {@code field} set to the raw JSON text {@code value}. */
    private static String raw(String set, String field, String value) {
        Map<String, Object> spec = validSpec(set);
        spec.remove(field);
        String body = JSON.writeValueAsString(spec);
        return body.substring(0, body.length() - 1) + ", \"" + field + "\": " + value + "}";
    }

    private Case jsonCase(String name, String body, String field) {
        return new Case(name, http("POST", "/v1/jobs", Map.of("Content-Type", "application/json"),
                body.getBytes(StandardCharsets.UTF_8)), field);
    }

    private record Part(String name, String filename, String contentType, byte[] bytes) {
        static Part field(String name, String contentType, String text) {
            return new Part(name, null, contentType, text.getBytes(StandardCharsets.UTF_8));
        }

        static Part file(String name, String filename, String contentType, byte[] bytes) {
            return new Part(name, filename, contentType, bytes);
        }
    }

    private static List<Part> with(List<Part> parts, Part more) {
        List<Part> out = new ArrayList<>(parts);
        out.add(more);
        return out;
    }

    private Case multipartCase(String name, String path, List<Part> parts, String field) {
        return new Case(name, http("POST", path, Map.of("Content-Type", "multipart/form-data; boundary=XyZ"),
                multipartBody("XyZ", parts)), field);
    }

    private static byte[] multipartBody(String boundary, List<Part> parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (Part p : parts) {
            StringBuilder h = new StringBuilder("--" + boundary + "\r\n");
            if (p.name() != null) {
                h.append("Content-Disposition: form-data; name=\"").append(p.name()).append('"');
                if (p.filename() != null) {
                    h.append("; filename=\"").append(p.filename()).append('"');
                }
                h.append("\r\n");
            }
            if (p.contentType() != null) {
                h.append("Content-Type: ").append(p.contentType()).append("\r\n");
            }
            h.append("\r\n");
            out.writeBytes(h.toString().getBytes(StandardCharsets.UTF_8));
            out.writeBytes(p.bytes());
            out.writeBytes("\r\n".getBytes(StandardCharsets.UTF_8));
        }
        out.writeBytes(("--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8));
        return out.toByteArray();
    }

    /** An HTTP/1.1 request with the ACME key (unless the headers give an Authorization) and Connection: close. */
    private byte[] http(String method, String target, Map<String, String> headers, byte[] body) {
        StringBuilder head = new StringBuilder(method + " " + target + " HTTP/1.1\r\nHost: localhost\r\n");
        if (!headers.containsKey("Authorization")) {
            head.append("Authorization: ").append(ACME).append("\r\n");
        }
        headers.forEach((k, v) -> {
            if (!(k.equals("Authorization") && v.isEmpty())) {
                head.append(k).append(": ").append(v).append("\r\n");
            }
        });
        if (body != null) {
            head.append("Content-Length: ").append(body.length).append("\r\n");
        }
        head.append("Connection: close\r\n\r\n");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(head.toString().getBytes(StandardCharsets.UTF_8));
        if (body != null) {
            out.writeBytes(body);
        }
        return out.toByteArray();
    }

    // ---- sending and checking ----

    private record Response(int status, Map<String, String> headers, byte[] body) {
    }

    private Response send(byte[] request) throws IOException {
        try (Socket socket = new Socket("localhost", port)) {
            socket.setSoTimeout(60_000);
            OutputStream out = socket.getOutputStream();
            try {
                out.write(request);
                out.flush();
            } catch (IOException e) {
                // Tomcat may answer and close before reading a body it refuses; read what it said.
            }
            ByteArrayOutputStream all = new ByteArrayOutputStream();
            InputStream in = socket.getInputStream();
            try {
                in.transferTo(all);
            } catch (SocketTimeoutException e) {
                throw new IOException("no complete answer within 60 s", e);
            } catch (IOException e) {
                // A reset after the answer (Tomcat closes without draining a refused body): keep what arrived.
            }
            return parse(all.toByteArray());
        }
    }

    private static Response parse(byte[] raw) {
        String text = new String(raw, StandardCharsets.ISO_8859_1);
        int end = text.indexOf("\r\n\r\n");
        if (end < 0) {
            return new Response(-1, Map.of(), raw);
        }
        String[] lines = text.substring(0, end).split("\r\n");
        int status = Integer.parseInt(lines[0].split(" ")[1]);
        Map<String, String> headers = new LinkedHashMap<>();
        for (int i = 1; i < lines.length; i++) {
            int colon = lines[i].indexOf(':');
            headers.put(lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT), lines[i].substring(colon + 1).trim());
        }
        byte[] body = java.util.Arrays.copyOfRange(raw, end + 4, raw.length);
        if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
            body = dechunk(body);
        }
        return new Response(status, headers, body);
    }

    private static byte[] dechunk(byte[] body) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int i = 0;
        while (i < body.length) {
            int lineEnd = i;
            while (lineEnd + 1 < body.length && !(body[lineEnd] == '\r' && body[lineEnd + 1] == '\n')) {
                lineEnd++;
            }
            int size = Integer.parseInt(new String(body, i, lineEnd - i, StandardCharsets.ISO_8859_1).split(";")[0]
                    .trim(), 16);
            if (size == 0) {
                break;
            }
            out.write(body, lineEnd + 2, size);
            i = lineEnd + 2 + size + 2;
        }
        return out.toByteArray();
    }

    /** Null when the answer is right for a bad request: 4xx, problem+json with its status, the field named. */
    private static String check(Case c, Response r) {
        if (r.status() < 0) {
            return "no HTTP answer: " + abbreviate(new String(r.body(), StandardCharsets.ISO_8859_1));
        }
        String type = r.headers().getOrDefault("content-type", "");
        String body = new String(r.body(), StandardCharsets.UTF_8);
        if (r.status() < 400 || r.status() >= 500) {
            return "status " + r.status() + " " + abbreviate(body);
        }
        if (!type.startsWith("application/problem+json")) {
            return r.status() + " as '" + type + "': " + abbreviate(body);
        }
        JsonNode problem;
        try {
            problem = JSON.readTree(body);
        } catch (RuntimeException e) {
            return r.status() + " with unreadable JSON: " + abbreviate(body);
        }
        if (problem.path("status").asInt() != r.status()
                || !problem.path("type").asString("").startsWith("https://selectune.dev/problems/")
                || problem.path("title").asString("").isEmpty()) {
            return r.status() + " with an incomplete problem: " + abbreviate(body);
        }
        if (c.field() != null) {
            List<String> fields = new ArrayList<>();
            problem.path("errors").forEach(e -> fields.add(e.path("field").asString("")));
            if (fields.stream().noneMatch(f -> f.equals(c.field()) || f.startsWith(c.field() + "[")
                    || f.startsWith(c.field() + "."))) {
                return r.status() + " naming " + fields + ", not " + c.field() + ": " + abbreviate(body);
            }
        }
        return null;
    }

    private static String abbreviate(String s) {
        String oneLine = s.replace("\r", "\\r").replace("\n", "\\n").replace("\u0000", "\\0");
        return oneLine.length() > 160 ? oneLine.substring(0, 160) + "...(" + s.length() + ")" : oneLine;
    }

    private Map<String, Long> counts() {
        Map<String, Long> m = new LinkedHashMap<>();
        for (String t : TABLES) {
            m.put(t, jdbc.queryForObject("select count(*) from " + t, Long.class));
        }
        return m;
    }

    private String imageSet() throws Exception {
        MvcResult r = mvc.perform(multipart("/v1/image-sets").file(TestImages.dogPart(0)).file(TestImages.dogPart(1))
                .header("Authorization", ACME)).andExpect(status().isCreated()).andReturn();
        return JsonPath.read(r.getResponse().getContentAsString(), "$.id");
    }

    private String job(String set) throws Exception {
        MvcResult r = mvc.perform(post("/v1/jobs").header("Authorization", ACME).contentType(MediaType.APPLICATION_JSON)
                        .content(JSON.writeValueAsString(validSpec(set))))
                .andExpect(status().isCreated()).andReturn();
        return JsonPath.read(r.getResponse().getContentAsString(), "$.id");
    }
}
