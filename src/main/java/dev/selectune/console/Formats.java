package dev.selectune.console;

import org.springframework.stereotype.Component;

import java.time.Duration;
import java.time.Instant;
import java.util.Locale;

/** How the pages print sizes and ages; a bean so templates call it as {@code @formats}. */
@Component("formats")
public class Formats {
    public String mib(Long bytes) {
        return bytes == null ? "–" : String.format(Locale.ROOT, "%.1f MiB", bytes / (1024.0 * 1024.0));
    }

    public String bytes(long bytes) {
        return bytes < 1024 * 1024 ? String.format(Locale.ROOT, "%.1f KiB", bytes / 1024.0) : mib(bytes);
    }

    public String age(Instant since) {
        if (since == null) {
            return "–";
        }
        long s = Math.max(0, Duration.between(since, Instant.now()).getSeconds());
        if (s < 60) {
            return s + " s";
        }
        if (s < 3600) {
            return s / 60 + " min";
        }
        if (s < 86_400) {
            return s / 3600 + " h";
        }
        return s / 86_400 + " d";
    }

    public String number(Double v) {
        return v == null ? "–" : String.format(Locale.ROOT, "%.4g", v);
    }

    /** The time of day in UTC, as the events list shows it. */
    public String clock(Instant at) {
        return at == null ? "" : java.time.format.DateTimeFormatter.ofPattern("HH:mm:ss").withZone(java.time.ZoneOffset.UTC)
                .format(at);
    }

    /** Item {@code index} of {@code list} as text, or {@code fallback} when there is none. */
    public String item(Object list, int index, String fallback) {
        return list instanceof java.util.List<?> l && index < l.size() ? String.valueOf(l.get(index)) : fallback;
    }

    public String percent(double fraction) {
        return Math.round(fraction * 100) + " %";
    }
}
