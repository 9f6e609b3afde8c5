package dev.selectune.diffusion.tokenizer;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.selectune.diffusion.PipelineException;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.GZIPInputStream;

/**
 * The CLIP byte-level BPE tokenizer, as OpenAI's {@code simple_tokenizer.py} and transformers' slow
 * {@code CLIPTokenizer}: clean the text ({@link ClipTextCleaner}), split it into words with CLIP's regex, map each
 * word's UTF-8 bytes to GPT-2's printable byte symbols, mark the word's end with {@code </w>}, and merge symbol
 * pairs by rank until no ranked pair is left.
 *
 * <p>Prompts become the 77-long layout the pipelines feed their text encoders ({@link #inputIds}):
 * {@code [bos] + ids[:max-2] + [eos]} then padding with the tokenizer folder's pad token, which is
 * {@code <|endoftext|>} for SD 1.x and SDXL's first tokenizer and {@code !} (id 0) for SD 2.x and SDXL's
 * {@code tokenizer_2}. Instances are immutable apart from a thread-safe BPE cache.
 */
public final class ClipTokenizer {
    public static final String START_OF_TEXT = "<|startoftext|>";
    public static final String END_OF_TEXT = "<|endoftext|>";
    /** CLIP's context length, the default when a tokenizer folder does not say. */
    public static final int DEFAULT_MAX_LENGTH = 77;
    /** How many merges CLIP uses from its merges file: {@code lines[1:49152-256-2+1]}. */
    private static final int MERGE_COUNT = 49152 - 256 - 2;
    private static final String FULL_VOCAB_RESOURCE = "/clip/bpe_simple_vocab_16e6.txt.gz";
    private static final int CACHE_LIMIT = 20_000;

    /** CLIP's pre-tokenizer (applied to cleaned, lower-cased text). */
    private static final Pattern WORDS = Pattern.compile(
            "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+",
            Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE | Pattern.UNICODE_CHARACTER_CLASS);

    private static final String[] BYTE_SYMBOLS = bytesToUnicode();

    private final Map<String, Integer> encoder;
    private final Map<String, Integer> mergeRanks;
    private final int bosId;
    private final int eosId;
    private final int padId;
    private final int unkId;
    private final int modelMaxLength;
    /** transformers' added tokens: matched in the raw text before cleaning and never split (empty for simple_tokenizer). */
    private final Map<String, Integer> addedTokens;
    private final Map<String, String> cache = new ConcurrentHashMap<>();

    private ClipTokenizer(Map<String, Integer> encoder, List<String[]> merges, String padToken, String unkToken,
                          int modelMaxLength, Map<String, Integer> addedTokens, String source) {
        this.encoder = encoder;
        this.addedTokens = addedTokens;
        this.mergeRanks = new HashMap<>(merges.size() * 2);
        for (int i = 0; i < merges.size(); i++) {
            // dict(zip(merges, range(len(merges)))): a repeated pair keeps its last rank.
            mergeRanks.put(pairKey(merges.get(i)[0], merges.get(i)[1]), i);
        }
        this.bosId = requireToken(source, START_OF_TEXT, "bos_token");
        this.eosId = requireToken(source, END_OF_TEXT, "eos_token");
        this.padId = requireToken(source, padToken, "pad_token");
        this.unkId = requireToken(source, unkToken, "unk_token");
        this.modelMaxLength = modelMaxLength;
    }

    /**
     * Loads a diffusers/transformers tokenizer folder: {@code vocab.json}, {@code merges.txt}, and the pad and unk
     * tokens and {@code model_max_length} from {@code tokenizer_config.json} / {@code special_tokens_map.json}
     * (absent entries default to {@code <|endoftext|>} and 77, as {@code CLIPTokenizer}'s constructor).
     *
     * <p>As in transformers, the special tokens and the config's {@code added_tokens_decoder} entries are cut out of
     * the raw prompt before anything else and map straight to their ids. That matters for SD 2.x, whose pad token
     * {@code !} is such a token: "detailed!" gives "detailed" and id 0, not "!&lt;/w&gt;" (256).
     */
    public static ClipTokenizer load(Path tokenizerDir) {
        Path vocabFile = tokenizerDir.resolve("vocab.json");
        Path mergesFile = tokenizerDir.resolve("merges.txt");
        for (Path p : List.of(vocabFile, mergesFile)) {
            if (!Files.isRegularFile(p)) {
                throw new PipelineException(tokenizerDir + ": tokenizer file " + p.getFileName() + " is missing");
            }
        }
        Map<String, Integer> encoder = new HashMap<>();
        try {
            JsonObject vocab = JsonParser.parseString(Files.readString(vocabFile)).getAsJsonObject();
            for (Map.Entry<String, JsonElement> e : vocab.entrySet()) {
                encoder.put(e.getKey(), e.getValue().getAsInt());
            }
        } catch (IOException | RuntimeException e) {
            throw new PipelineException(vocabFile + ": unreadable vocabulary: " + e.getMessage(), e);
        }
        List<String[]> merges;
        try {
            merges = parseMerges(mergesFile.toString(), Files.readString(mergesFile));
        } catch (IOException e) {
            throw new PipelineException(mergesFile + ": unreadable: " + e.getMessage(), e);
        }
        FolderSettings settings = FolderSettings.read(tokenizerDir, encoder);
        return new ClipTokenizer(encoder, merges, settings.pad, settings.unk, settings.maxLength, settings.addedTokens,
                tokenizerDir.toString());
    }

    /**
     * {@link #load} when the folder has {@code vocab.json} and {@code merges.txt}; otherwise the full CLIP vocabulary
     * with the folder's settings (pad token, added tokens, {@code model_max_length}), for pipelines that ship only
     * the tokenizer configs. Every SD tokenizer is the same CLIP BPE, so only those settings differ.
     */
    public static ClipTokenizer loadOrFullVocabulary(Path tokenizerDir) {
        if (Files.isRegularFile(tokenizerDir.resolve("vocab.json")) && Files.isRegularFile(tokenizerDir.resolve("merges.txt"))) {
            return load(tokenizerDir);
        }
        FullVocabulary full = FullVocabulary.get();
        FolderSettings settings = FolderSettings.read(tokenizerDir, full.encoder);
        return new ClipTokenizer(full.encoder, full.merges, settings.pad, settings.unk, settings.maxLength,
                settings.addedTokens, tokenizerDir + " (full CLIP vocabulary)");
    }

    /** What a tokenizer folder's tokenizer_config.json and special_tokens_map.json say, as transformers reads them. */
    private record FolderSettings(String pad, String unk, int maxLength, Map<String, Integer> addedTokens) {
        static FolderSettings read(Path dir, Map<String, Integer> encoder) {
            JsonObject config = readJsonIfPresent(dir.resolve("tokenizer_config.json"));
            JsonObject specials = readJsonIfPresent(dir.resolve("special_tokens_map.json"));
            String pad = tokenSetting(config, specials, "pad_token", END_OF_TEXT);
            String unk = tokenSetting(config, specials, "unk_token", END_OF_TEXT);
            int maxLength = DEFAULT_MAX_LENGTH;
            if (config.has("model_max_length")) {
                double v = config.get("model_max_length").getAsDouble();
                // transformers writes a huge sentinel (1e30) for "no limit"; CLIP's position table still caps it at 77.
                maxLength = v > 0 && v < 1_000_000 ? (int) v : DEFAULT_MAX_LENGTH;
            }
            Map<String, Integer> added = new LinkedHashMap<>();
            JsonElement decoder = config.get("added_tokens_decoder");
            if (decoder != null && decoder.isJsonObject()) {
                for (Map.Entry<String, JsonElement> e : decoder.getAsJsonObject().entrySet()) {
                    added.put(e.getValue().getAsJsonObject().get("content").getAsString(), Integer.parseInt(e.getKey()));
                }
            }
            // transformers makes the special tokens added tokens too (ids from the vocabulary; the constructor checks
            // that they are there).
            for (String special : List.of(START_OF_TEXT, END_OF_TEXT, pad, unk)) {
                if (encoder.containsKey(special)) {
                    added.putIfAbsent(special, encoder.get(special));
                }
            }
            return new FolderSettings(pad, unk, maxLength, added);
        }
    }

    /**
     * The full 49408-token CLIP vocabulary built from the shipped merges file: the 256 byte symbols, the same with
     * {@code </w>}, one token per merge in file order, then {@code <|startoftext|>} and {@code <|endoftext|>}.
     * Pads with {@code padToken} ({@code <|endoftext|>} for SD 1.x, {@code "!"} for SD 2.x).
     */
    public static ClipTokenizer fullVocabulary(String padToken) {
        FullVocabulary full = FullVocabulary.get();
        // simple_tokenizer semantics: the specials are recognized by the word regex after cleaning, nothing else.
        return new ClipTokenizer(full.encoder, full.merges, padToken, END_OF_TEXT, DEFAULT_MAX_LENGTH, Map.of(),
                FULL_VOCAB_RESOURCE);
    }

    /** The shipped vocabulary, read once per process (1.6 MB of merges; the maps are never modified). */
    private static final class FullVocabulary {
        private static volatile FullVocabulary instance;
        final Map<String, Integer> encoder;
        final List<String[]> merges;

        private FullVocabulary(Map<String, Integer> encoder, List<String[]> merges) {
            this.encoder = encoder;
            this.merges = merges;
        }

        static FullVocabulary get() {
            FullVocabulary v = instance;
            if (v == null) {
                synchronized (FullVocabulary.class) {
                    if (instance == null) {
                        instance = read();
                    }
                    v = instance;
                }
            }
            return v;
        }

        private static FullVocabulary read() {
            String text;
            try (InputStream raw = ClipTokenizer.class.getResourceAsStream(FULL_VOCAB_RESOURCE)) {
                if (raw == null) {
                    throw new PipelineException("missing resource " + FULL_VOCAB_RESOURCE);
                }
                try (GZIPInputStream in = new GZIPInputStream(raw)) {
                    ByteArrayOutputStream bytes = new ByteArrayOutputStream(1 << 20);
                    in.transferTo(bytes);
                    text = bytes.toString(StandardCharsets.UTF_8);
                }
            } catch (IOException e) {
                throw new PipelineException(FULL_VOCAB_RESOURCE + ": unreadable: " + e.getMessage(), e);
            }
            List<String[]> merges = parseMerges(FULL_VOCAB_RESOURCE, text);
            // The token list in simple_tokenizer's order; a token's id is its position in the list.
            List<String> tokens = new ArrayList<>(49408);
            List<String> symbols = byteSymbolsInVocabularyOrder();
            tokens.addAll(symbols);
            symbols.forEach(symbol -> tokens.add(symbol + "</w>"));
            merges.forEach(merge -> tokens.add(merge[0] + merge[1]));
            tokens.add(START_OF_TEXT);
            tokens.add(END_OF_TEXT);
            Map<String, Integer> encoder = new HashMap<>(1 << 17);
            for (int id = 0; id < tokens.size(); id++) {
                encoder.put(tokens.get(id), id);
            }
            return new FullVocabulary(java.util.Collections.unmodifiableMap(encoder), List.copyOf(merges));
        }
    }

    /** The full vocabulary padding with {@code <|endoftext|>} (SD 1.x). */
    public static ClipTokenizer fullVocabulary() {
        return fullVocabulary(END_OF_TEXT);
    }

    /** The token ids of a prompt, without start/end tokens and not truncated ({@code SimpleTokenizer.encode}). */
    public int[] encode(String text) {
        List<Integer> ids = new ArrayList<>();
        tokenize(text, new ArrayList<>(), ids, Integer.MAX_VALUE);
        return ids.stream().mapToInt(Integer::intValue).toArray();
    }

    /** The BPE token strings of a prompt ({@code </w>} marks a word's end). */
    public List<String> bpeTokens(String text) {
        List<String> tokens = new ArrayList<>();
        tokenize(text, tokens, new ArrayList<>(), Integer.MAX_VALUE);
        return tokens;
    }

    /**
     * Cuts out added tokens (transformers), then cleans and BPE-encodes the text between them, stopping once
     * {@code limit} tokens exist (the words after them cannot change those, and a padded layout drops them).
     */
    private void tokenize(String text, List<String> tokens, List<Integer> ids, int limit) {
        int start = 0;
        int pos = 0;
        while (pos < text.length() && !addedTokens.isEmpty() && ids.size() < limit) {
            String token = addedTokenAt(text, pos);
            if (token == null) {
                pos++;
                continue;
            }
            tokenizeChunk(text.substring(start, pos), tokens, ids, limit);
            tokens.add(token);
            ids.add(addedTokens.get(token));
            pos += token.length();
            start = pos;
        }
        if (ids.size() < limit) {
            tokenizeChunk(text.substring(start), tokens, ids, limit);
        }
    }

    /** The longest added token that starts at {@code pos}, or null. */
    private String addedTokenAt(String text, int pos) {
        String best = null;
        for (String token : addedTokens.keySet()) {
            if (text.startsWith(token, pos) && (best == null || token.length() > best.length())) {
                best = token;
            }
        }
        return best;
    }

    private void tokenizeChunk(String chunk, List<String> tokens, List<Integer> ids, int limit) {
        String cleaned = ClipTextCleaner.clean(chunk);
        Matcher m = WORDS.matcher(cleaned);
        while (ids.size() < limit && m.find()) {
            String word = m.group();
            String bpe = word.equals(START_OF_TEXT) || word.equals(END_OF_TEXT) ? word : bpe(byteSymbols(word));
            for (String token : bpe.split(" ")) {
                tokens.add(token);
                // transformers maps a token missing from the vocabulary to unk, as simple_tokenizer never needs to.
                ids.add(encoder.getOrDefault(token, unkId));
            }
        }
    }

    /** The pipeline layout at this tokenizer's {@code model_max_length}. */
    public long[] inputIds(String prompt) {
        return inputIds(prompt, modelMaxLength);
    }

    /** {@code [bos] + ids[:maxLength-2] + [eos]}, padded with the pad token to {@code maxLength}. */
    public long[] inputIds(String prompt, int maxLength) {
        if (maxLength < 2) {
            throw new IllegalArgumentException("max_length must leave room for the start and end tokens, got " + maxLength);
        }
        List<Integer> tokenIds = new ArrayList<>();
        tokenize(prompt, new ArrayList<>(), tokenIds, maxLength - 2);
        int kept = Math.min(tokenIds.size(), maxLength - 2);
        long[] out = new long[maxLength];
        Arrays.fill(out, padId);
        out[0] = bosId;
        for (int i = 0; i < kept; i++) {
            out[i + 1] = tokenIds.get(i);
        }
        out[kept + 1] = eosId;
        return out;
    }

    public int bosId() {
        return bosId;
    }

    public int eosId() {
        return eosId;
    }

    public int padId() {
        return padId;
    }

    public int modelMaxLength() {
        return modelMaxLength;
    }

    public int vocabularySize() {
        return encoder.size();
    }

    /** The id of a token string, or -1. */
    public int tokenId(String token) {
        return encoder.getOrDefault(token, -1);
    }

    /** A word's BPE symbols joined by spaces; the merge loop of simple_tokenizer.bpe, memoized. */
    private String bpe(String word) {
        String cached = cache.get(word);
        if (cached != null) {
            return cached;
        }
        List<String> symbols = new ArrayList<>(word.length());
        word.codePoints().forEach(cp -> symbols.add(new String(Character.toChars(cp))));
        int last = symbols.size() - 1;
        symbols.set(last, symbols.get(last) + "</w>");
        while (symbols.size() > 1) {
            // The lowest-ranked adjacent pair; none ranked means the word is done.
            int bestRank = Integer.MAX_VALUE;
            String first = null;
            String second = null;
            for (int i = 0; i + 1 < symbols.size(); i++) {
                Integer rank = mergeRanks.get(pairKey(symbols.get(i), symbols.get(i + 1)));
                if (rank != null && rank < bestRank) {
                    bestRank = rank;
                    first = symbols.get(i);
                    second = symbols.get(i + 1);
                }
            }
            if (first == null) {
                break;
            }
            // Merge every occurrence of (first, second), left to right, as simple_tokenizer does.
            List<String> merged = new ArrayList<>(symbols.size());
            for (int i = 0; i < symbols.size(); i++) {
                if (i + 1 < symbols.size() && symbols.get(i).equals(first) && symbols.get(i + 1).equals(second)) {
                    merged.add(first + second);
                    i++;
                } else {
                    merged.add(symbols.get(i));
                }
            }
            symbols.clear();
            symbols.addAll(merged);
        }
        String result = String.join(" ", symbols);
        if (cache.size() >= CACHE_LIMIT) {
            cache.clear();
        }
        cache.put(word, result);
        return result;
    }

    private static String byteSymbols(String word) {
        StringBuilder sb = new StringBuilder(word.length() * 2);
        for (byte b : word.getBytes(StandardCharsets.UTF_8)) {
            sb.append(BYTE_SYMBOLS[b & 0xff]);
        }
        return sb.toString();
    }

    private static String pairKey(String a, String b) {
        return a + ' ' + b;
    }

    /**
     * GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves, the other 68 bytes map to U+0100 and
     * up in byte order. The array is in vocabulary order (printable ranges first), indexed by byte value.
     */
    private static String[] bytesToUnicode() {
        String[] table = new String[256];
        boolean[] printable = new boolean[256];
        for (int b = '!'; b <= '~'; b++) {
            printable[b] = true;
        }
        for (int b = 0xA1; b <= 0xAC; b++) {
            printable[b] = true;
        }
        for (int b = 0xAE; b <= 0xFF; b++) {
            printable[b] = true;
        }
        int n = 0;
        for (int b = 0; b < 256; b++) {
            table[b] = printable[b] ? String.valueOf((char) b) : String.valueOf((char) (256 + n++));
        }
        return table;
    }

    /** The byte symbols in vocabulary order: the printable bytes ascending, then the remapped ones (U+0100...). */
    private static List<String> byteSymbolsInVocabularyOrder() {
        List<String> printable = new ArrayList<>();
        List<String> remapped = new ArrayList<>();
        for (String symbol : BYTE_SYMBOLS) {
            (symbol.charAt(0) < 256 ? printable : remapped).add(symbol);
        }
        printable.sort(null);
        printable.addAll(remapped);
        return printable;
    }

    /** Merges are the lines after the version header, at most CLIP's 48894, each "left right". */
    private static List<String[]> parseMerges(String source, String text) {
        String[] lines = text.strip().split("\n");
        int end = Math.min(lines.length, MERGE_COUNT + 1);
        List<String[]> merges = new ArrayList<>(Math.max(0, end - 1));
        for (int i = 1; i < end; i++) {
            String[] parts = lines[i].trim().split("\\s+");
            if (parts.length != 2) {
                throw new PipelineException(source + ": line " + (i + 1) + " is not a merge pair: '" + lines[i] + "'");
            }
            merges.add(parts);
        }
        return merges;
    }

    private int requireToken(String source, String token, String field) {
        Integer id = encoder.get(token);
        if (id == null) {
            throw new PipelineException(source + ": " + field + " '" + token + "' is not in the vocabulary");
        }
        return id;
    }

    private static JsonObject readJsonIfPresent(Path file) {
        if (!Files.isRegularFile(file)) {
            return new JsonObject();
        }
        try {
            return JsonParser.parseString(Files.readString(file)).getAsJsonObject();
        } catch (IOException | RuntimeException e) {
            throw new PipelineException(file + ": unreadable: " + e.getMessage(), e);
        }
    }

    /** A special token as tokenizer_config.json or special_tokens_map.json give it: a string or {"content": ...}. */
    private static String tokenSetting(JsonObject config, JsonObject specials, String field, String fallback) {
        for (JsonObject source : List.of(config, specials)) {
            JsonElement e = source.get(field);
            if (e == null || e.isJsonNull()) {
                continue;
            }
            if (e.isJsonPrimitive()) {
                return e.getAsString();
            }
            if (e.isJsonObject() && e.getAsJsonObject().has("content")) {
                return e.getAsJsonObject().get("content").getAsString();
            }
        }
        return fallback;
    }
}
