package dev.selectune.evaluation;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The 25 evaluation prompts of the DreamBooth dataset ({@code dreambooth/prompts_and_classes.txt}, copied from the
 * dataset's repository), filled with the identifier and the class noun: {@code 'a {0} {1} in the snow'} becomes
 * "a sks dog in the snow". The file has one list for objects and one for live subjects (outfits and hats instead of
 * some backgrounds); the dataset's live subjects are its dogs and cats, so the class nouns "dog" and "cat" take the
 * live list and every other class the object list.
 */
public final class DreamBoothPrompts {
    public static final String RESOURCE = "/dreambooth/prompts_and_classes.txt";
    private static final Pattern TEMPLATE = Pattern.compile("^'(.*)'\\.format\\(unique_token, class_token\\),?$");

    private DreamBoothPrompts() {
    }

    public static boolean isLiveSubject(String classNoun) {
        String c = classNoun.trim().toLowerCase(Locale.ROOT);
        return c.equals("dog") || c.equals("cat") || c.equals("dogs") || c.equals("cats");
    }

    /** The 25 prompts for a subject. */
    public static List<String> prompts(String identifier, String classNoun) {
        if (identifier == null || identifier.isBlank() || classNoun == null || classNoun.isBlank()) {
            throw new IllegalArgumentException("the DreamBooth prompts need an identifier and a class noun");
        }
        List<String> out = new ArrayList<>();
        for (String t : templates(isLiveSubject(classNoun))) {
            out.add(t.replace("{0}", identifier.trim()).replace("{1}", classNoun.trim()));
        }
        return out;
    }

    /** The templates of one list, with {@code {0}} for the identifier and {@code {1}} for the class noun. */
    public static List<String> templates(boolean live) {
        String text;
        try (InputStream in = DreamBoothPrompts.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("resource " + RESOURCE + " is missing from the classpath");
            }
            text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + RESOURCE + ": " + e.getMessage(), e);
        }
        String section = live ? "Live Subject Prompts" : "Object Prompts";
        List<String> out = new ArrayList<>();
        boolean inSection = false;
        for (String line : text.split("\\R")) {
            String l = line.trim();
            if (l.equals("Object Prompts") || l.equals("Live Subject Prompts")) {
                inSection = l.equals(section);
                continue;
            }
            Matcher m = TEMPLATE.matcher(l);
            if (inSection && m.matches()) {
                out.add(m.group(1));
            }
        }
        if (out.size() != 25) {
            throw new IllegalStateException(RESOURCE + ": expected 25 templates under '" + section + "', found " + out.size());
        }
        return out;
    }
}
