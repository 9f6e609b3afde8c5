package dev.selectune.diffusion.nn;

import com.sun.jna.Pointer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The runtime keeps libtorch's read-only data in use: the right bytes, every page of them, present after a sweep. */
@EnabledOnOs(OS.LINUX)
class ConstantPagesTest {

    @Test
    void theRuntimeKeepsTheRodataOfTheLoadedLibtorch() {
        TorchRuntime.initialize();
        ConstantPages.Kept k = ConstantPages.kept();
        assertNotNull(k, "the keeper runs by default where libtorch_cpu is mapped");
        assertEquals(ConstantPages.DEFAULT_INTERVAL_MS, k.intervalMs());
        assertTrue(k.library().getFileName().toString().equals(ConstantPages.LIBRARY), k.toString());
        assertEquals(0, k.start() % ConstantPages.PAGE);
        assertTrue(k.pages() > 100, k.toString());
    }

    /** The section is found in the file's headers, and the memory at its address holds the file's bytes. */
    @Test
    void theSectionFoundInTheFileIsWhatIsMapped() throws IOException {
        TorchRuntime.initialize();
        ConstantPages.Mapped lib = ConstantPages.mapped(ConstantPages.LIBRARY);
        assertNotNull(lib);
        ConstantPages.Section rodata = ConstantPages.section(lib.file(), ".rodata");
        assertNotNull(rodata);
        assertNull(ConstantPages.section(lib.file(), ".no-such-section"));
        long fileOffset = fileOffsetOfRodata(lib.file());
        for (long at : new long[] {0, rodata.size() / 2, rodata.size() - 256}) {
            byte[] inFile = new byte[256];
            try (FileChannel ch = FileChannel.open(lib.file(), StandardOpenOption.READ)) {
                ch.read(ByteBuffer.wrap(inFile), fileOffset + at);
            }
            byte[] inMemory = new Pointer(lib.base() + rodata.address() + at).getByteArray(0, 256);
            assertArrayEquals(inFile, inMemory, "bytes at .rodata+" + at);
        }
    }

    @Test
    void aSweepLeavesEveryPageMapped() throws IOException {
        TorchRuntime.initialize();
        ConstantPages.Kept k = ConstantPages.kept();
        assertNotNull(k);
        ConstantPages.sweep(k);
        // /proc/self/pagemap: one 64-bit entry per page, bit 63 set when the page is present in the page table.
        try (FileChannel ch = FileChannel.open(Path.of("/proc/self/pagemap"), StandardOpenOption.READ)) {
            ByteBuffer entries = ByteBuffer.allocate((int) (k.pages() * 8)).order(ByteOrder.LITTLE_ENDIAN);
            ch.read(entries, k.start() / ConstantPages.PAGE * 8);
            entries.flip();
            long absent = 0;
            for (int i = 0; i < k.pages(); i++) {
                absent += entries.getLong(i * 8) < 0 ? 0 : 1;
            }
            assertEquals(0, absent, "pages not mapped right after a sweep, of " + k.pages());
        }
    }

    @Test
    void theIntervalSetting() {
        assertEquals(ConstantPages.DEFAULT_INTERVAL_MS, ConstantPages.intervalFor(null));
        assertEquals(ConstantPages.DEFAULT_INTERVAL_MS, ConstantPages.intervalFor(" "));
        assertEquals(0, ConstantPages.intervalFor("0"));
        assertEquals(50, ConstantPages.intervalFor(" 50 "));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ConstantPages.intervalFor("-1"));
        assertTrue(e.getMessage().startsWith(ConstantPages.SETTING), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ConstantPages.intervalFor("fast"));
    }

    /** The file offset of .rodata, read independently of {@link ConstantPages#section} (its sh_offset field). */
    private static long fileOffsetOfRodata(Path elf) throws IOException {
        try (FileChannel ch = FileChannel.open(elf, StandardOpenOption.READ)) {
            ByteBuffer h = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
            ch.read(h, 0);
            long shoff = h.getLong(0x28);
            int size = Short.toUnsignedInt(h.getShort(0x3A));
            int count = Short.toUnsignedInt(h.getShort(0x3C));
            int strIndex = Short.toUnsignedInt(h.getShort(0x3E));
            ByteBuffer all = ByteBuffer.allocate(size * count).order(ByteOrder.LITTLE_ENDIAN);
            ch.read(all, shoff);
            long strOff = all.getLong(strIndex * size + 24);
            for (int i = 0; i < count; i++) {
                ByteBuffer name = ByteBuffer.allocate(8);
                ch.read(name, strOff + all.getInt(i * size));
                if (new String(name.array(), 0, 8).startsWith(".rodata\0")) {
                    return all.getLong(i * size + 24);
                }
            }
            throw new IllegalStateException("no .rodata in " + elf);
        }
    }
}
