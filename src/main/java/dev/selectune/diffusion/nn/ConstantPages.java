package dev.selectune.diffusion.nn;

import com.sun.jna.Platform;
import com.sun.jna.Pointer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Keeps the pages of libtorch's read-only data marked as used, so that its vector math never stalls on them.
 *
 * <p>Sleef's vector functions in libtorch (the {@code exp} behind the flash attention backward, SiLU, GELU) load some
 * constants with a mask that is almost always all off. A masked-off load does not set its page's accessed bit, and
 * once the kernel has cleared that bit (reclaim and DAMON's monitoring clear it on hosts that reclaim memory
 * proactively), every such load takes a microcode assist until an ordinary load sets the bit again. The backward
 * then runs most steps up to twice as slow, and nothing in the process repairs it (libtorch's profiler did, by
 * accident: its hash tables read such a page on every op; docs/training.md, "Constant pages").
 *
 * <p>So a daemon thread reads one byte of every 4 KiB page of {@code libtorch_cpu}'s {@code .rodata} every
 * {@code SELECTUNE_CONSTANT_PAGES_MS} milliseconds ({@link #DEFAULT_INTERVAL_MS}; 0 turns it off). The pages are file
 * pages shared with the page cache: this keeps them resident and costs a fraction of a millisecond per sweep.
 */
public final class ConstantPages {
    private static final Logger LOG = LoggerFactory.getLogger(ConstantPages.class);
    public static final String SETTING = "SELECTUNE_CONSTANT_PAGES_MS";
    public static final long DEFAULT_INTERVAL_MS = 200;
    static final String LIBRARY = "libtorch_cpu.so";
    static final long PAGE = 4096;
    private static volatile Kept kept;

    private ConstantPages() {
    }

    /** What is being kept: the {@code .rodata} of {@code library}, mapped at {@code start}, every {@code intervalMs}. */
    public record Kept(Path library, long start, long bytes, long intervalMs) {
        public long pages() {
            return (bytes + PAGE - 1) / PAGE;
        }

        @Override
        public String toString() {
            return pages() + " pages of " + library.getFileName() + " .rodata every " + intervalMs + " ms";
        }
    }

    /** A section of an ELF file: its address relative to the load base, and its size. */
    record Section(long address, long size) {
    }

    /** A mapped library: where its first byte is in memory, and its file. */
    record Mapped(long base, Path file) {
    }

    /**
     * Starts the keeper with a sweep every {@code interval} ms (0: off), once per process, after libtorch is loaded.
     * Where there is nothing to keep (not Linux, no {@code libtorch_cpu} mapped, no {@code .rodata}) it logs why and
     * does nothing.
     */
    static synchronized void start(long interval) {
        if (kept != null || interval == 0 || !Platform.isLinux()) {
            return;
        }
        try {
            Mapped lib = mapped(LIBRARY);
            if (lib == null) {
                LOG.info("no {} mapped in this process: its constant pages are not kept", LIBRARY);
                return;
            }
            Section rodata = section(lib.file(), ".rodata");
            if (rodata == null) {
                LOG.info("{} has no .rodata section: its constant pages are not kept", lib.file());
                return;
            }
            long start = (lib.base() + rodata.address()) & -PAGE;
            long end = lib.base() + rodata.address() + rodata.size();
            Kept k = new Kept(lib.file(), start, end - start, interval);
            Thread t = new Thread(() -> keep(k), "libtorch-constant-pages");
            t.setDaemon(true);
            t.start();
            kept = k;
            LOG.debug("keeping {}", k);
        } catch (IOException | RuntimeException e) {
            LOG.warn("libtorch's constant pages are not kept: {}", e.toString());
        }
    }

    /** What the keeper keeps, or null when it does not run. */
    public static Kept kept() {
        return kept;
    }

    /** Reads one byte of every page of {@code k}'s range (each read is a native call, which the JIT keeps). */
    static void sweep(Kept k) {
        Pointer p = new Pointer(k.start());
        for (long off = 0; off < k.bytes(); off += PAGE) {
            p.getByte(off);
        }
    }

    private static void keep(Kept k) {
        while (true) {
            sweep(k);
            try {
                Thread.sleep(k.intervalMs());
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** The interval a {@link #SETTING} value asks for, in milliseconds; 0 is off. */
    static long intervalFor(String value) {
        if (value == null || value.isBlank()) {
            return DEFAULT_INTERVAL_MS;
        }
        try {
            long ms = Long.parseLong(value.trim());
            if (ms < 0) {
                throw new NumberFormatException();
            }
            return ms;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(SETTING + ": must be a whole number of milliseconds >= 0 (0 is off), got '"
                    + value + "'");
        }
    }

    /** The library whose file name is {@code name}, as this process maps it (from /proc/self/maps), or null. */
    static Mapped mapped(String name) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/maps"))) {
            // start-end perms offset dev inode path
            String[] f = line.trim().split("\\s+", 6);
            if (f.length == 6 && f[5].endsWith("/" + name) && Long.parseLong(f[2], 16) == 0) {
                return new Mapped(Long.parseUnsignedLong(f[0].substring(0, f[0].indexOf('-')), 16), Path.of(f[5]));
            }
        }
        return null;
    }

    /** The section called {@code name} in a 64-bit little-endian ELF file, from its section headers; null if absent. */
    static Section section(Path elf, String name) throws IOException {
        try (FileChannel ch = FileChannel.open(elf, StandardOpenOption.READ)) {
            ByteBuffer header = read(ch, 0, 64);
            if (header.getInt(0) != 0x464C457F || header.get(4) != 2 || header.get(5) != 1) {
                throw new IOException(elf + ": not a 64-bit little-endian ELF file");
            }
            long shoff = header.getLong(0x28);
            int shentsize = Short.toUnsignedInt(header.getShort(0x3A));
            int shnum = Short.toUnsignedInt(header.getShort(0x3C));
            int shstrndx = Short.toUnsignedInt(header.getShort(0x3E));
            ByteBuffer headers = read(ch, shoff, (long) shentsize * shnum);
            int names = shstrndx * shentsize;
            ByteBuffer strings = read(ch, headers.getLong(names + 24), headers.getLong(names + 32));
            for (int i = 0; i < shnum; i++) {
                int h = i * shentsize;
                if (name.equals(cString(strings, headers.getInt(h)))) {
                    return new Section(headers.getLong(h + 16), headers.getLong(h + 32));
                }
            }
            return null;
        }
    }

    private static ByteBuffer read(FileChannel ch, long offset, long size) throws IOException {
        if (size < 0 || size > Integer.MAX_VALUE || offset < 0 || offset + size > ch.size()) {
            throw new IOException("ELF range " + offset + "+" + size + " outside the file");
        }
        ByteBuffer b = ByteBuffer.allocate((int) size).order(ByteOrder.LITTLE_ENDIAN);
        while (b.hasRemaining()) {
            if (ch.read(b, offset + b.position()) < 0) {
                throw new IOException("ELF file ends early");
            }
        }
        return b.flip();
    }

    private static String cString(ByteBuffer b, int at) {
        int end = at;
        while (end < b.limit() && b.get(end) != 0) {
            end++;
        }
        byte[] bytes = new byte[end - at];
        b.get(at, bytes);
        return new String(bytes, StandardCharsets.US_ASCII);
    }
}
