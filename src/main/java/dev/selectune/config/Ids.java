package dev.selectune.config;

import java.security.SecureRandom;

/** Public ids such as {@code job_7f3k...}: a type prefix and random base-32 characters (unguessable, URL-safe). */
public final class Ids {
    private static final char[] ALPHABET = "abcdefghijklmnopqrstuvwxyz234567".toCharArray();
    private static final SecureRandom RANDOM = new SecureRandom();

    private Ids() {
    }

    public static String random(int chars) {
        StringBuilder sb = new StringBuilder(chars);
        for (int i = 0; i < chars; i++) {
            sb.append(ALPHABET[RANDOM.nextInt(ALPHABET.length)]);
        }
        return sb.toString();
    }

    public static String job() {
        return "job_" + random(20);
    }

    public static String generation() {
        return "gen_" + random(20);
    }

    public static String imageSet() {
        return "imgset_" + random(20);
    }
}
