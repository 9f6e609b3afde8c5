package dev.selectune.diffusion.tokenizer;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.selectune.diffusion.GoldenCase;
import dev.selectune.diffusion.PipelineException;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The tokenizer against openai/CLIP's simple_tokenizer (run with the real ftfy) on every prompt of
 * {@code clip-bpe/tokenizer-golden.json}, and against transformers' slow CLIPTokenizer on the tiny cases.
 */
class ClipTokenizerTest {
    private static final ClipTokenizer PAD_EOS = ClipTokenizer.fullVocabulary();
    private static final ClipTokenizer PAD_ZERO = ClipTokenizer.fullVocabulary("!");

    @TestFactory
    Stream<DynamicTest> everyGoldenPrompt() throws IOException {
        JsonObject golden = readJson("/clip-bpe/tokenizer-golden.json");
        assertEquals(PAD_EOS.bosId(), golden.get("bos_id").getAsInt());
        assertEquals(PAD_EOS.eosId(), golden.get("eos_id").getAsInt());
        int context = golden.get("context_length").getAsInt();
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonElement e : golden.getAsJsonArray("cases")) {
            JsonObject c = e.getAsJsonObject();
            String prompt = c.get("prompt").getAsString();
            String name = prompt.length() > 60 ? prompt.substring(0, 60) + "..." : prompt;
            tests.add(DynamicTest.dynamicTest("'" + name + "'", () -> {
                assertEquals(strings(c.getAsJsonArray("bpe_tokens")), PAD_EOS.bpeTokens(prompt), "bpe tokens");
                assertArrayEquals(ints(c.getAsJsonArray("ids")), PAD_EOS.encode(prompt), "ids");
                assertArrayEquals(longs(c.getAsJsonArray("input_ids_pad_eos")), PAD_EOS.inputIds(prompt, context),
                        "input_ids_pad_eos");
                assertArrayEquals(longs(c.getAsJsonArray("input_ids_pad_zero")), PAD_ZERO.inputIds(prompt, context),
                        "input_ids_pad_zero");
            }));
        }
        assertEquals(32, tests.size(), "golden prompt count");
        return tests.stream();
    }

    @TestFactory
    Stream<DynamicTest> tinyCaseTokenizersReproduceTextInputIds() {
        return GoldenCase.bundledCases().stream().map(folder -> DynamicTest.dynamicTest(folder.getFileName().toString(), () -> {
            ClipTokenizer tokenizer = ClipTokenizer.load(folder.resolve("tokenizer"));
            try (GoldenCase golden = GoldenCase.load(folder)) {
                JsonArray prompts = golden.json().getAsJsonArray("prompts");
                long[] expected = golden.longs("text.input_ids");
                int length = expected.length / prompts.size();
                for (int i = 0; i < prompts.size(); i++) {
                    long[] row = java.util.Arrays.copyOfRange(expected, i * length, (i + 1) * length);
                    assertArrayEquals(row, tokenizer.inputIds(prompts.get(i).getAsString()),
                            golden.name() + " prompt " + i);
                }
                assertEquals(length, tokenizer.modelMaxLength());
            }
        }));
    }

    @Test
    void fullVocabularyHasClipLayout() {
        assertEquals(49408, PAD_EOS.vocabularySize());
        assertEquals(0, PAD_EOS.tokenId("!"));
        assertEquals(256, PAD_EOS.tokenId("!</w>"));
        assertEquals(49406, PAD_EOS.tokenId("<|startoftext|>"));
        assertEquals(49407, PAD_EOS.padId());
        assertEquals(0, PAD_ZERO.padId());
    }

    /** The tiny cases' vocabulary is a truncated copy: every id below 998 must mean the same token in the full one. */
    @Test
    void tinyVocabularyIsAPrefixOfTheFullOne() throws IOException {
        Path vocab = GoldenCase.resource("tiny-sd15").resolve("tokenizer/vocab.json");
        JsonObject tiny = JsonParser.parseString(Files.readString(vocab)).getAsJsonObject();
        int checked = 0;
        for (Map.Entry<String, JsonElement> e : tiny.entrySet()) {
            int id = e.getValue().getAsInt();
            if (id < 998) {
                assertEquals(id, PAD_EOS.tokenId(e.getKey()), "token '" + e.getKey() + "'");
                checked++;
            }
        }
        assertEquals(998, checked);
    }

    @Test
    void truncatesToMaxLengthKeepingEndToken() {
        long[] ids = PAD_EOS.inputIds("red, green, blue, red", 5);
        assertArrayEquals(new long[] {49406, PAD_EOS.tokenId("red</w>"), PAD_EOS.tokenId(",</w>"),
                PAD_EOS.tokenId("green</w>"), 49407}, ids);
    }

    @Test
    void cleaningFollowsFtfyAndHtmlUnescape() {
        assertEquals("fish & chips", ClipTextCleaner.clean("Fish &amp;amp; Chips"));
        assertEquals("\"a\" 'b' fine abc", ClipTextCleaner.clean("\u201Ca\u201D \u2018b\u2019 \uFB01ne \uFF21\uFF22\uFF23"));
        assertEquals("caf\u00e9 x", ClipTextCleaner.clean("cafe\u0301\u3000\t\n x\uFEFF"));
        assertEquals("\u00a9 \u2026 \u00acanentity &zzz", ClipTextCleaner.clean("&copy &#133; &notanentity &zzz"));
        // ftfy unescapes until nothing changes, but not from the first line with a '<' on; then html.unescape twice.
        assertEquals("x & < &amp;", ClipTextCleaner.clean("x &amp;amp;amp;\n< &amp;amp;amp;"));
    }

    /**
     * A folder with only SD 2's configs gets the full vocabulary with transformers' rules: "!" is the pad token and
     * so an added token, cut out before BPE (id 0, not "!</w>"), and padding uses it.
     */
    @Test
    void configOnlyFolderUsesTheFullVocabularyWithItsSettings(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("tokenizer_config.json"),
                "{\"pad_token\": \"!\", \"model_max_length\": 77, \"tokenizer_class\": \"CLIPTokenizer\"}");
        ClipTokenizer sd2 = ClipTokenizer.loadOrFullVocabulary(dir);
        long[] ids = sd2.inputIds("wow!!");
        assertArrayEquals(new long[] {49406, PAD_EOS.tokenId("wow</w>"), 0, 0, 49407, 0}, java.util.Arrays.copyOf(ids, 6));
        assertEquals(0, ids[76]);
        // The simple_tokenizer semantics of fullVocabulary("!") keep "!!" a BPE word.
        assertEquals(PAD_ZERO.tokenId("!!</w>"), PAD_ZERO.encode("wow!!")[1]);
        // With vocab.json and merges.txt present, those are used.
        assertEquals(1000, ClipTokenizer.loadOrFullVocabulary(GoldenCase.resource("tiny-sd21v").resolve("tokenizer")).vocabularySize());
    }

    @Test
    void missingMergesFileNamesIt(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("vocab.json"), "{}");
        PipelineException e = assertThrows(PipelineException.class, () -> ClipTokenizer.load(dir));
        assertTrue(e.getMessage().contains("merges.txt"), e.getMessage());
    }

    @Test
    void padTokenOutsideTheVocabularyFails(@TempDir Path dir) throws IOException {
        Path src = GoldenCase.resource("tiny-sd15").resolve("tokenizer");
        for (String f : List.of("vocab.json", "merges.txt")) {
            Files.copy(src.resolve(f), dir.resolve(f));
        }
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"pad_token\": \"<pad>\"}");
        PipelineException e = assertThrows(PipelineException.class, () -> ClipTokenizer.load(dir));
        assertTrue(e.getMessage().contains("pad_token '<pad>'"), e.getMessage());
    }

    private static JsonObject readJson(String resource) throws IOException {
        try (InputStream in = ClipTokenizerTest.class.getResourceAsStream(resource)) {
            return JsonParser.parseString(new String(in.readAllBytes(), StandardCharsets.UTF_8)).getAsJsonObject();
        }
    }

    private static List<String> strings(JsonArray a) {
        List<String> out = new ArrayList<>();
        a.forEach(e -> out.add(e.getAsString()));
        return out;
    }

    private static int[] ints(JsonArray a) {
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).getAsInt();
        }
        return out;
    }

    private static long[] longs(JsonArray a) {
        long[] out = new long[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).getAsLong();
        }
        return out;
    }
}
