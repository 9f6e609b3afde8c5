package dev.selectune.diffusion.nn;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Writes a TorchScript archive ({@code torch.jit.save}'s format) for a module without parameters, from TorchScript
 * source text: {@code code/__torch__.py} holds the class, {@code data.pkl} pickles one instance of it (protocol 2,
 * its only attribute {@code training}), {@code constants.pkl} an empty tuple, {@code version} the file-format
 * version. libtorch compiles the source when it loads the archive, so no binary made elsewhere is involved.
 *
 * <p>Format version 3 is what torch 1.x and 2.x write for source-only modules, and every libtorch since 1.6 reads
 * it. Entries are stored uncompressed, as torch writes them.
 */
public final class TorchScriptArchive {
    static final String FORMAT_VERSION = "3";

    private TorchScriptArchive() {
    }

    /**
     * @param className  the class defined in {@code source}, which must declare {@code training : bool}
     * @param source     TorchScript source of {@code code/__torch__.py}
     * @return the bytes of the {@code .pt} zip
     */
    public static byte[] write(String className, String source) {
        if (!className.matches("[A-Za-z_][A-Za-z0-9_]*")) {
            throw new IllegalArgumentException("not a TorchScript class name: " + className);
        }
        String root = "selectune_kernels/";
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
            stored(zip, root + "data.pkl", instancePickle(className));
            stored(zip, root + "code/__torch__.py", source.getBytes(StandardCharsets.UTF_8));
            stored(zip, root + "constants.pkl", new byte[] {(byte) 0x80, 2, ')', '.'});
            stored(zip, root + "version", (FORMAT_VERSION + "\n").getBytes(StandardCharsets.US_ASCII));
            stored(zip, root + "byteorder", "little".getBytes(StandardCharsets.US_ASCII));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    /** {@code __torch__.<className>()} with state {@code {'training': True}}, as pickle protocol 2. */
    static byte[] instancePickle(String className) {
        ByteArrayOutputStream p = new ByteArrayOutputStream();
        p.write(0x80); // PROTO 2
        p.write(2);
        p.writeBytes(("c__torch__\n" + className + "\n").getBytes(StandardCharsets.US_ASCII)); // GLOBAL
        p.write(')'); // EMPTY_TUPLE
        p.write(0x81); // NEWOBJ
        p.write('}'); // EMPTY_DICT
        p.write('('); // MARK
        unicode(p, "training");
        p.write(0x88); // NEWTRUE
        p.write('u'); // SETITEMS
        p.write('b'); // BUILD
        p.write('.'); // STOP
        return p.toByteArray();
    }

    private static void unicode(ByteArrayOutputStream p, String s) {
        byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
        p.write('X'); // BINUNICODE, 4-byte little-endian length
        p.write(utf8.length & 0xff);
        p.write((utf8.length >> 8) & 0xff);
        p.write((utf8.length >> 16) & 0xff);
        p.write((utf8.length >> 24) & 0xff);
        p.writeBytes(utf8);
    }

    private static void stored(ZipOutputStream zip, String name, byte[] data) throws IOException {
        ZipEntry e = new ZipEntry(name);
        e.setMethod(ZipEntry.STORED);
        e.setSize(data.length);
        e.setCompressedSize(data.length);
        CRC32 crc = new CRC32();
        crc.update(data);
        e.setCrc(crc.getValue());
        zip.putNextEntry(e);
        zip.write(data);
        zip.closeEntry();
    }
}
