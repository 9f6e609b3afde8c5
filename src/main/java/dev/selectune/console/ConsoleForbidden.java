package dev.selectune.console;

/** A console request refused with 403: not signed in, or a form without the session's CSRF token. */
public class ConsoleForbidden extends RuntimeException {
    public ConsoleForbidden(String message) {
        super(message);
    }
}
