package dev.selectune.diffusion.tokenizer;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * HTML character references, decoded as Python's {@code html.unescape} and ftfy's {@code unescape_html} do.
 *
 * <p>The CLIP tokenizer cleans prompts with ftfy and then with {@code html.unescape} twice, so "&amp;amp;" in a
 * prompt tokenizes as "&amp;". Both need the full HTML5 entity list (resource {@code /tokenizer/html5-entities.tsv},
 * the WHATWG table as Python ships it), including the legacy names that Python accepts without a semicolon.
 */
final class HtmlEntities {
    /** Python's html._charref. */
    private static final Pattern CHARREF = Pattern.compile("&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\\t\\n\\f <&#;]{1,32};?)");
    /** ftfy's HTML_ENTITY_RE: only complete references with a semicolon. */
    private static final Pattern FTFY_ENTITY = Pattern.compile("&#?[0-9A-Za-z]{1,24};");

    /** name (with its ';' when the table has one) -> text. */
    private static final Map<String, String> HTML5 = loadTable();
    /** ftfy's HTML_ENTITIES: "&name;" -> text, plus upper-cased names that are not entities of their own. */
    private static final Map<String, String> FTFY = buildFtfyTable();

    private HtmlEntities() {
    }

    /** Python's {@code html.unescape}. */
    static String unescape(String s) {
        if (s.indexOf('&') < 0) {
            return s;
        }
        Matcher m = CHARREF.matcher(s);
        StringBuilder out = new StringBuilder(s.length());
        while (m.find()) {
            m.appendReplacement(out, Matcher.quoteReplacement(replaceCharref(m.group(1))));
        }
        m.appendTail(out);
        return out.toString();
    }

    /** ftfy's {@code unescape_html}: complete references only; numeric ones that decode to ';' stay as they are. */
    static String unescapeFtfy(String s) {
        if (s.indexOf('&') < 0) {
            return s;
        }
        Matcher m = FTFY_ENTITY.matcher(s);
        StringBuilder out = new StringBuilder(s.length());
        while (m.find()) {
            String ref = m.group();
            String rep = FTFY.get(ref);
            if (rep == null) {
                rep = ref;
                if (ref.startsWith("&#")) {
                    String decoded = unescape(ref);
                    rep = decoded.contains(";") ? ref : decoded;
                }
            }
            m.appendReplacement(out, Matcher.quoteReplacement(rep));
        }
        m.appendTail(out);
        return out.toString();
    }

    private static String replaceCharref(String s) {
        if (s.charAt(0) == '#') {
            boolean hex = s.length() > 1 && (s.charAt(1) == 'x' || s.charAt(1) == 'X');
            String digits = s.substring(hex ? 2 : 1);
            if (digits.endsWith(";")) {
                digits = digits.substring(0, digits.length() - 1);
            }
            String trimmed = digits.replaceFirst("^0+", "");
            // Anything longer than 8 digits is past U+10FFFF (and would overflow), which Python maps to U+FFFD.
            long num = trimmed.isEmpty() ? 0 : trimmed.length() > 8 ? Long.MAX_VALUE : Long.parseLong(trimmed, hex ? 16 : 10);
            String invalid = invalidCharref(num);
            if (invalid != null) {
                return invalid;
            }
            if ((num >= 0xD800 && num <= 0xDFFF) || num > 0x10FFFF) {
                return "\uFFFD";
            }
            if (isInvalidCodepoint((int) num)) {
                return "";
            }
            return new String(Character.toChars((int) num));
        }
        String named = HTML5.get(s);
        if (named != null) {
            return named;
        }
        // The longest prefix that is a legacy name without ';' (e.g. "&ampx" -> "&x").
        for (int x = s.length() - 1; x > 1; x--) {
            String prefix = HTML5.get(s.substring(0, x));
            if (prefix != null) {
                return prefix + s.substring(x);
            }
        }
        return "&" + s;
    }

    /** Python's html._invalid_charrefs: NUL, CR and the C1 range read as windows-1252. */
    private static String invalidCharref(long num) {
        if (num == 0) {
            return "\uFFFD";
        }
        if (num == 0x0D) {
            return "\r";
        }
        if (num >= 0x80 && num <= 0x9F) {
            return Cp1252.decode((int) num);
        }
        return null;
    }

    private static boolean isInvalidCodepoint(int cp) {
        return (cp >= 0x1 && cp <= 0x8) || cp == 0xB || (cp >= 0xE && cp <= 0x1F) || (cp >= 0x7F && cp <= 0x9F)
                || (cp >= 0xFDD0 && cp <= 0xFDEF) || (cp & 0xFFFE) == 0xFFFE;
    }

    private static Map<String, String> loadTable() {
        Map<String, String> table = new HashMap<>(4096);
        try (InputStream in = HtmlEntities.class.getResourceAsStream("/tokenizer/html5-entities.tsv")) {
            if (in == null) {
                throw new IllegalStateException("missing resource /tokenizer/html5-entities.tsv");
            }
            BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            for (String line; (line = r.readLine()) != null; ) {
                if (line.isEmpty() || line.startsWith("#")) {
                    continue;
                }
                int tab = line.indexOf('\t');
                StringBuilder text = new StringBuilder();
                for (String hex : line.substring(tab + 1).split(" ")) {
                    text.appendCodePoint(Integer.parseInt(hex, 16));
                }
                table.put(line.substring(0, tab), text.toString());
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read /tokenizer/html5-entities.tsv", e);
        }
        return table;
    }

    private static Map<String, String> buildFtfyTable() {
        Map<String, String> out = new HashMap<>(8192);
        for (Map.Entry<String, String> e : HTML5.entrySet()) {
            String name = e.getKey();
            if (!name.endsWith(";")) {
                continue;
            }
            out.put("&" + name, e.getValue());
            // ftfy also decodes entities whose name was upper-cased ("&NTILDE;" -> "Ñ") when that is unambiguous.
            String upper = name.toUpperCase(java.util.Locale.ROOT);
            if (name.equals(name.toLowerCase(java.util.Locale.ROOT)) && unescape("&" + upper).equals("&" + upper)) {
                out.put("&" + upper, e.getValue().toUpperCase(java.util.Locale.ROOT));
            }
        }
        return out;
    }

    /** windows-1252 for 0x80-0x9F, keeping the five undefined bytes as their C1 code points ("sloppy" cp1252). */
    static final class Cp1252 {
        private static final String HIGH = "\u20AC\u0081\u201A\u0192\u201E\u2026\u2020\u2021\u02C6\u2030\u0160\u2039\u0152\u008D\u017D\u008F"
                + "\u0090\u2018\u2019\u201C\u201D\u2022\u2013\u2014\u02DC\u2122\u0161\u203A\u0153\u009D\u017E\u0178";

        private Cp1252() {
        }

        static String decode(int c1) {
            return String.valueOf(HIGH.charAt(c1 - 0x80));
        }
    }
}
