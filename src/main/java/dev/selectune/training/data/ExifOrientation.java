package dev.selectune.training.data;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Reads the EXIF orientation tag (0x0112) of a JPEG from its APP1 segment. Phones store portrait photos
 * landscape and set this tag; ignoring it would train on sideways dogs. ImageIO does not apply it, so we do.
 */
final class ExifOrientation {
    /** Orientation 1: stored as shown. */
    static final int NORMAL = 1;

    private ExifOrientation() {
    }

    /** The orientation (1..8) of a JPEG, or 1 when the file is not a JPEG or has no (readable) tag. */
    static int read(byte[] file) {
        if (file.length < 4 || (file[0] & 0xff) != 0xFF || (file[1] & 0xff) != 0xD8) {
            return NORMAL;
        }
        int pos = 2;
        while (pos + 4 <= file.length) {
            if ((file[pos] & 0xff) != 0xFF) {
                return NORMAL;
            }
            int marker = file[pos + 1] & 0xff;
            if (marker == 0xDA || marker == 0xD9) {
                return NORMAL; // start of scan: no more metadata segments
            }
            int length = ((file[pos + 2] & 0xff) << 8) | (file[pos + 3] & 0xff);
            int body = pos + 4;
            if (marker == 0xE1 && length >= 8 && body + 6 <= file.length && isExifHeader(file, body)) {
                return fromTiff(file, body + 6, Math.min(file.length, pos + 2 + length));
            }
            pos += 2 + length;
        }
        return NORMAL;
    }

    private static boolean isExifHeader(byte[] f, int at) {
        return f[at] == 'E' && f[at + 1] == 'x' && f[at + 2] == 'i' && f[at + 3] == 'f' && f[at + 4] == 0 && f[at + 5] == 0;
    }

    private static int fromTiff(byte[] file, int start, int end) {
        try {
            ByteBuffer tiff = ByteBuffer.wrap(file, start, end - start).slice();
            if (tiff.get(0) == 'I' && tiff.get(1) == 'I') {
                tiff.order(ByteOrder.LITTLE_ENDIAN);
            } else if (tiff.get(0) == 'M' && tiff.get(1) == 'M') {
                tiff.order(ByteOrder.BIG_ENDIAN);
            } else {
                return NORMAL;
            }
            int ifd = tiff.getInt(4);
            int entries = tiff.getShort(ifd) & 0xffff;
            for (int i = 0; i < entries; i++) {
                int entry = ifd + 2 + 12 * i;
                if ((tiff.getShort(entry) & 0xffff) == 0x0112) {
                    int value = tiff.getShort(entry + 8) & 0xffff; // SHORT, stored left-aligned in the value field
                    return value >= 1 && value <= 8 ? value : NORMAL;
                }
            }
        } catch (IndexOutOfBoundsException e) {
            // a truncated EXIF block: treat as unrotated rather than reject a decodable image
        }
        return NORMAL;
    }
}
