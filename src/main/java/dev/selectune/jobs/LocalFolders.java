package dev.selectune.jobs;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.function.Predicate;
import java.util.stream.Stream;

/** Start-up cleaning of the service's own folders under the data directory, which one process owns. */
public final class LocalFolders {
    private static final Logger log = LoggerFactory.getLogger(LocalFolders.class);

    private LocalFolders() {
    }

    /**
     * Creates {@code dir} if needed and deletes the entries in it whose names are {@code ours}: what a killed run
     * left (half-written upload temp files, job scratch folders). Only our own names, as an operator may point
     * these settings at a shared folder such as /tmp. Returns how many entries it removed.
     */
    public static int deleteLeftovers(Path dir, Predicate<String> ours) {
        try {
            Files.createDirectories(dir);
            List<Path> entries;
            try (Stream<Path> list = Files.list(dir)) {
                entries = list.filter(p -> ours.test(p.getFileName().toString())).toList();
            }
            for (Path entry : entries) {
                try (Stream<Path> walk = Files.walk(entry)) {
                    for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                        Files.deleteIfExists(p);
                    }
                }
            }
            if (!entries.isEmpty()) {
                log.info("deleted {} entries a previous run left in {}", entries.size(), dir);
            }
            return entries.size();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot clean " + dir, e);
        }
    }
}
