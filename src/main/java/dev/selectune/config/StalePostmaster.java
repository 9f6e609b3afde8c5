package dev.selectune.config;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.FileOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;

/**
 * Stops what a killed run of the service left of its embedded PostgreSQL: the postmaster (and its backends) still
 * holding the data directory. A process counts as ours only if it is a {@code postgres} binary whose working
 * directory (the postmaster and every backend chdir into the data directory) or {@code -D} argument is our data
 * directory, so other clusters on the host are never touched. It is asked for a fast shutdown first (SIGINT, what
 * {@code pg_ctl stop -m fast} sends: committed data is already on disk either way), and killed only if that does not
 * end it in time.
 */
final class StalePostmaster {
    private static final Logger log = LoggerFactory.getLogger(StalePostmaster.class);
    /** zonky's lock file: held by a live service using the data directory. */
    private static final String LOCK_FILE = "epg-lock";

    private StalePostmaster() {
    }

    /** Returns once no postgres process of {@code dataDir} runs; refuses a directory another live service holds. */
    static void stop(Path dataDir, Duration patience) {
        Path dir = realPath(dataDir);
        refuseIfLocked(dir);
        List<ProcessHandle> leftovers = processesOf(dir);
        if (leftovers.isEmpty()) {
            return;
        }
        OptionalLong postmasterPid = postmasterPid(dir);
        Optional<ProcessHandle> postmaster = leftovers.stream()
                .filter(p -> postmasterPid.isPresent() && p.pid() == postmasterPid.getAsLong()).findFirst();
        log.warn("a previous run left PostgreSQL running on {} (pids {}); stopping it", dir,
                leftovers.stream().map(ProcessHandle::pid).toList());
        postmaster.ifPresent(StalePostmaster::fastShutdown);
        if (!awaitExit(leftovers, patience)) {
            log.warn("PostgreSQL on {} did not stop within {}; killing it", dir, patience);
            leftovers.forEach(ProcessHandle::destroyForcibly);
            if (!awaitExit(leftovers, patience)) {
                throw new IllegalStateException("cannot stop the PostgreSQL left running on " + dir + " (pids "
                        + leftovers.stream().filter(ProcessHandle::isAlive).map(ProcessHandle::pid).toList() + ")");
            }
        }
    }

    /** Live postgres processes (postmaster and backends) of {@code dir}. */
    static List<ProcessHandle> processesOf(Path dir) {
        return ProcessHandle.allProcesses().filter(p -> isPostgresOf(p, dir)).toList();
    }

    private static boolean isPostgresOf(ProcessHandle p, Path dir) {
        Optional<String> command = p.info().command();
        if (command.isEmpty() || !Path.of(command.get()).getFileName().toString().startsWith("postgres")) {
            return false;
        }
        try {
            return Files.readSymbolicLink(Path.of("/proc", Long.toString(p.pid()), "cwd")).equals(dir);
        } catch (IOException | UnsupportedOperationException e) {
            // No /proc (macOS): only the postmaster shows its data directory, as "-D <dir>".
            String[] args = p.info().arguments().orElse(new String[0]);
            for (int i = 0; i + 1 < args.length; i++) {
                if (args[i].equals("-D") && Path.of(args[i + 1]).toAbsolutePath().normalize().equals(dir)) {
                    return true;
                }
            }
            return false;
        }
    }

    /** SIGINT, as {@code pg_ctl stop -m fast} sends (pg_ctl itself refuses to run as root). */
    private static void fastShutdown(ProcessHandle postmaster) {
        try {
            Process kill = new ProcessBuilder("sh", "-c", "kill -INT " + postmaster.pid())
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            if (!kill.waitFor(10, TimeUnit.SECONDS)) {
                kill.destroyForcibly();
            }
        } catch (IOException e) {
            log.warn("cannot signal postgres {}: {}", postmaster.pid(), e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static boolean awaitExit(List<ProcessHandle> processes, Duration patience) {
        long deadline = System.nanoTime() + patience.toNanos();
        while (processes.stream().anyMatch(ProcessHandle::isAlive)) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return true;
    }

    /** The first line of {@code postmaster.pid}; empty when there is none (a clean stop removes it). */
    static OptionalLong postmasterPid(Path dir) {
        try {
            List<String> lines = Files.readAllLines(dir.resolve("postmaster.pid"));
            return lines.isEmpty() ? OptionalLong.empty() : OptionalLong.of(Long.parseLong(lines.get(0).trim()));
        } catch (IOException | NumberFormatException e) {
            return OptionalLong.empty();
        }
    }

    /**
     * A service still running on this directory holds zonky's lock: its postgres is not stale, and stopping it
     * would take the database from under it.
     */
    private static void refuseIfLocked(Path dir) {
        Path lockFile = dir.resolve(LOCK_FILE);
        if (!Files.exists(lockFile)) {
            return;
        }
        try (FileOutputStream out = new FileOutputStream(lockFile.toFile(), true);
             FileLock lock = out.getChannel().tryLock()) {
            if (lock == null) {
                throw new IllegalStateException("the data directory " + dir + " is in use by another running"
                        + " selectune process (" + lockFile + " is locked)");
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot check " + lockFile, e);
        }
    }

    private static Path realPath(Path dir) {
        try {
            return dir.toRealPath();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot resolve " + dir, e);
        }
    }
}
