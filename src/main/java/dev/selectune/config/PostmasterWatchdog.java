package dev.selectune.config;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/**
 * Stops the embedded postmaster when this JVM dies, however it dies. {@code pg_ctl start} detaches the postmaster
 * (it is reparented to PID 1 at once), so a {@code kill -9} of the JVM used to leave it running on the data
 * directory. No shutdown hook runs on a kill, and postgres has no "exit with my parent" setting, so the watch is a
 * tiny {@code sh} child reading a pipe whose only writer is this JVM: the kernel closes that end when the JVM exits
 * for any reason, the {@code read} sees end-of-file at once, and the child sends the postmaster SIGINT (a fast
 * shutdown: what {@code pg_ctl stop -m fast} sends; pg_ctl itself refuses to run as root, where zonky wraps it in
 * {@code unshare -U}). No polling, and the signal goes only to a process whose working directory is still our data
 * directory, so a reused PID is safe. It needs {@code sh} (which {@code pg_ctl start} needs anyway) and Linux's
 * /proc; elsewhere the next start stops the leftover ({@link StalePostmaster}). It ignores the terminal's and the
 * service manager's signals (INT, HUP, TERM) so that it outlives the JVM's graceful stop, which ends it
 * ({@link #close()}) after the database itself was stopped.
 */
final class PostmasterWatchdog implements AutoCloseable {
    private static final String SCRIPT = "trap '' INT HUP TERM; while read -r _; do :; done; "
            + "[ \"$(readlink \"/proc/$1/cwd\")\" = \"$2\" ] && kill -INT \"$1\"";

    /** Held for the life of the database: once unreachable, the JVM may close the pipe and stop postgres. */
    private final Process process;

    private PostmasterWatchdog(Process process) {
        this.process = process;
    }

    /** @param dataDir the real path of the data directory (the postmaster's working directory) */
    static PostmasterWatchdog start(long postmasterPid, Path dataDir) {
        try {
            return new PostmasterWatchdog(new ProcessBuilder("sh", "-c", SCRIPT, "selectune-postgres-watchdog",
                    Long.toString(postmasterPid), dataDir.toString())
                    .redirectInput(ProcessBuilder.Redirect.PIPE)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .redirectError(ProcessBuilder.Redirect.DISCARD)
                    .start());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start the PostgreSQL watchdog (sh)", e);
        }
    }

    /** A graceful stop: the database is already stopped, so the watch ends without acting. */
    @Override
    public void close() {
        process.destroyForcibly();
    }
}
