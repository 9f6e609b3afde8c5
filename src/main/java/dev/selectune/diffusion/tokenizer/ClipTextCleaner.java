package dev.selectune.diffusion.tokenizer;

import java.text.Normalizer;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * The text cleaning of CLIP's {@code simple_tokenizer.py}: {@code ftfy.fix_text} with its default settings, then
 * {@code html.unescape} twice, whitespace collapsed to single spaces, trimmed and lower-cased.
 *
 * <p>ftfy is reproduced for the fixes that change ordinary prompts, in ftfy 6's order and repeated until nothing
 * changes: HTML entities (up to the first line that holds a '&lt;', as ftfy's "auto" mode), terminal escapes, C1 controls
 * read as windows-1252, Latin ligatures, full-width and half-width forms, curly quotes, line breaks, lone
 * surrogates, invisible control characters and NFC. What is left out is ftfy's mojibake repair ({@code
 * fix_encoding}: re-decoding text like "cafÃ©" that was UTF-8 read as Latin-1), a statistical heuristic; such text
 * is tokenized as it is written.
 */
public final class ClipTextCleaner {
    private static final Pattern TERMINAL_ESCAPE = Pattern.compile("\u001B\\[((?:\\d|;)*)([a-zA-Z])");
    private static final Pattern C1_CONTROL = Pattern.compile("[\\x80-\\x9f]");
    /** Python's str.isspace(): Unicode White_Space plus the information separators U+001C..U+001F. */
    private static final Pattern WHITESPACE = Pattern.compile("(?U)[\\s\\x1c-\\x1f]+");

    private ClipTextCleaner() {
    }

    /** The full cleaning: what {@code SimpleTokenizer.encode} does before splitting into words. */
    public static String clean(String text) {
        String s = fixText(text);
        s = HtmlEntities.unescape(HtmlEntities.unescape(s)).strip();
        s = WHITESPACE.matcher(s).replaceAll(" ").strip();
        return s.toLowerCase(Locale.ROOT);
    }

    /** The subset of {@code ftfy.fix_text} described in the class comment. */
    public static String fixText(String text) {
        // ftfy fixes line by line; its "auto" HTML mode turns unescaping off for good at the first line with a '<'.
        StringBuilder out = new StringBuilder(text.length());
        boolean unescapeHtml = true;
        int pos = 0;
        while (pos < text.length()) {
            int lineEnd = text.indexOf('\n', pos);
            int end = lineEnd < 0 ? text.length() : lineEnd + 1;
            String segment = text.substring(pos, end);
            unescapeHtml &= segment.indexOf('<') < 0;
            out.append(fixSegment(segment, unescapeHtml));
            pos = end;
        }
        return out.toString();
    }

    private static String fixSegment(String text, boolean unescapeHtml) {
        String s = text;
        for (int round = 0; round < 16; round++) {
            String before = s;
            if (unescapeHtml) {
                s = HtmlEntities.unescapeFtfy(s);
            }
            s = TERMINAL_ESCAPE.matcher(s).replaceAll("");
            s = fixC1Controls(s);
            s = fixLatinLigatures(s);
            s = fixCharacterWidth(s);
            s = uncurlQuotes(s);
            s = fixLineBreaks(s);
            s = fixSurrogates(s);
            s = removeControlChars(s);
            s = Normalizer.normalize(s, Normalizer.Form.NFC);
            if (s.equals(before)) {
                break;
            }
        }
        return s;
    }

    private static String fixC1Controls(String s) {
        return C1_CONTROL.matcher(s).replaceAll(m -> HtmlEntities.Cp1252.decode(m.group().charAt(0)));
    }

    private static String fixLatinLigatures(String s) {
        StringBuilder out = null;
        for (int i = 0; i < s.length(); i++) {
            String rep = ligature(s.charAt(i));
            if (rep != null && out == null) {
                out = new StringBuilder(s.length() + 8).append(s, 0, i);
            }
            if (out != null) {
                if (rep != null) {
                    out.append(rep);
                } else {
                    out.append(s.charAt(i));
                }
            }
        }
        return out == null ? s : out.toString();
    }

    /** ftfy's LIGATURES: Latin ligatures that only exist for typesetting (not æ or œ, which are letters). */
    private static String ligature(char c) {
        return switch (c) {
            case '\u0132' -> "IJ";
            case '\u0133' -> "ij";
            case '\u0149' -> "\u02BCn";
            case '\u01F1' -> "DZ";
            case '\u01F2' -> "Dz";
            case '\u01F3' -> "dz";
            case '\u01C4' -> "D\u017D";
            case '\u01C5' -> "D\u017E";
            case '\u01C6' -> "d\u017E";
            case '\u01C7' -> "LJ";
            case '\u01C8' -> "Lj";
            case '\u01C9' -> "lj";
            case '\u01CA' -> "NJ";
            case '\u01CB' -> "Nj";
            case '\u01CC' -> "nj";
            case '\uFB00' -> "ff";
            case '\uFB01' -> "fi";
            case '\uFB02' -> "fl";
            case '\uFB03' -> "ffi";
            case '\uFB04' -> "ffl";
            case '\uFB05' -> "\u017Ft";
            case '\uFB06' -> "st";
            default -> null;
        };
    }

    /** ftfy's WIDTH_MAP: U+3000 and every U+FF01..U+FFEF form whose NFKC differs (full-width ASCII, half-width kana). */
    private static String fixCharacterWidth(String s) {
        StringBuilder out = null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            String rep = null;
            if (c == '\u3000') {
                rep = " ";
            } else if (c >= '\uFF01' && c < '\uFFF0') {
                String nfkc = Normalizer.normalize(String.valueOf(c), Normalizer.Form.NFKC);
                rep = nfkc.equals(String.valueOf(c)) ? null : nfkc;
            }
            if (rep != null && out == null) {
                out = new StringBuilder(s.length()).append(s, 0, i);
            }
            if (out != null) {
                if (rep != null) {
                    out.append(rep);
                } else {
                    out.append(c);
                }
            }
        }
        return out == null ? s : out.toString();
    }

    private static String uncurlQuotes(String s) {
        return s.replaceAll("[\u02BC\u2018-\u201B]", "'").replaceAll("[\u201C-\u201F]", "\"");
    }

    private static String fixLineBreaks(String s) {
        return s.replace("\r\n", "\n").replace('\r', '\n').replace('\u2028', '\n').replace('\u2029', '\n')
                .replace('\u0085', '\n');
    }

    /** Lone surrogates (which valid text never holds) become U+FFFD; pairs are already whole code points in Java. */
    private static String fixSurrogates(String s) {
        StringBuilder out = null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean lone = false;
            if (Character.isHighSurrogate(c)) {
                if (i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                    if (out != null) {
                        out.append(c).append(s.charAt(i + 1));
                    }
                    i++;
                    continue;
                }
                lone = true;
            } else if (Character.isLowSurrogate(c)) {
                lone = true;
            }
            if (lone && out == null) {
                out = new StringBuilder(s.length()).append(s, 0, i);
            }
            if (out != null) {
                out.append(lone ? '\uFFFD' : c);
            }
        }
        return out == null ? s : out.toString();
    }

    /** ftfy's CONTROL_CHARS: C0 controls but whitespace, DEL, deprecated Arabic format chars, U+FEFF, U+FFF9..U+FFFC. */
    private static String removeControlChars(String s) {
        StringBuilder out = null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean drop = (c <= 0x08) || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F
                    || (c >= 0x206A && c <= 0x206F) || c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFC);
            if (drop && out == null) {
                out = new StringBuilder(s.length()).append(s, 0, i);
            }
            if (out != null && !drop) {
                out.append(c);
            }
        }
        return out == null ? s : out.toString();
    }
}
