package dev.selectune.training.data;

import dev.selectune.training.TrainingConfig;
import org.junit.jupiter.api.Test;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import javax.imageio.ImageIO;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Decoding, EXIF orientation, crop and resize, resolution rules and input errors. */
class ImageDataTest {

    static byte[] resource(String name) throws IOException {
        try (InputStream in = ImageDataTest.class.getResourceAsStream("/images/dog/" + name)) {
            return in.readAllBytes();
        }
    }

    private static byte[] encode(BufferedImage img, String format) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertTrue(ImageIO.write(img, format, out), "no " + format + " writer");
        return out.toByteArray();
    }

    /** A 4x2 image whose left half is red and right half blue, top-left pixel green. */
    private static BufferedImage marker() {
        BufferedImage img = new BufferedImage(4, 2, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 2; y++) {
            for (int x = 0; x < 4; x++) {
                img.setRGB(x, y, x < 2 ? 0xff0000 : 0x0000ff);
            }
        }
        img.setRGB(0, 0, 0x00ff00);
        return img;
    }

    /** Inserts an APP1 EXIF segment (big-endian TIFF, one IFD entry: orientation) right after SOI. */
    static byte[] withOrientation(byte[] jpeg, int orientation) {
        byte[] tiff = {'M', 'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, (byte) orientation, 0, 0,
                0, 0, 0, 0, 0, 0};
        byte[] exif = new byte[6 + tiff.length];
        System.arraycopy(new byte[] {'E', 'x', 'i', 'f', 0, 0}, 0, exif, 0, 6);
        System.arraycopy(tiff, 0, exif, 6, tiff.length);
        int len = exif.length + 2;
        byte[] out = new byte[jpeg.length + 4 + exif.length];
        out[0] = (byte) 0xFF;
        out[1] = (byte) 0xD8;
        out[2] = (byte) 0xFF;
        out[3] = (byte) 0xE1;
        out[4] = (byte) (len >> 8);
        out[5] = (byte) len;
        System.arraycopy(exif, 0, out, 6, exif.length);
        System.arraycopy(jpeg, 2, out, 6 + exif.length, jpeg.length - 2);
        return out;
    }

    @Test
    void decodesJpegAndPngToRgb() throws IOException {
        BufferedImage dog = ImageDecoder.decode(resource("00.jpg"), 0);
        assertEquals(96, dog.getWidth());
        assertEquals(96, dog.getHeight());
        BufferedImage png = ImageDecoder.decode(encode(marker(), "png"), 3);
        assertEquals(0x00ff00, png.getRGB(0, 0) & 0xffffff);
        assertEquals(0x0000ff, png.getRGB(3, 1) & 0xffffff);
    }

    @Test
    void honoursExifOrientation() throws IOException {
        BufferedImage big = new BufferedImage(40, 20, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 20; y++) {
            for (int x = 0; x < 40; x++) {
                big.setRGB(x, y, x < 20 ? 0xff0000 : 0x0000ff); // red left, blue right
            }
        }
        byte[] jpeg = encode(big, "jpg");
        assertEquals(1, ExifOrientation.read(jpeg));
        byte[] rotated = withOrientation(jpeg, 6);
        assertEquals(6, ExifOrientation.read(rotated));
        BufferedImage upright = ImageDecoder.decode(rotated, 0);
        // Orientation 6: turn 90 degrees clockwise to display; the red left half ends on top.
        assertEquals(20, upright.getWidth());
        assertEquals(40, upright.getHeight());
        assertTrue(isRed(upright.getRGB(10, 5)), "top is red");
        assertTrue(isBlue(upright.getRGB(10, 35)), "bottom is blue");
        BufferedImage ccw = ImageDecoder.decode(withOrientation(jpeg, 8), 0);
        assertTrue(isBlue(ccw.getRGB(10, 5)), "orientation 8: top is blue");
    }

    @Test
    void everyOrientationMapsTheMarkerPixel() {
        BufferedImage m = marker(); // green at (0,0) of a 4x2 image
        int[][] greenAt = {{0, 0}, {3, 0}, {3, 1}, {0, 1}, {0, 0}, {1, 0}, {1, 3}, {0, 3}};
        for (int o = 1; o <= 8; o++) {
            BufferedImage r = ImageDecoder.orient(m, o);
            int[] at = greenAt[o - 1];
            assertEquals(0x00ff00, r.getRGB(at[0], at[1]) & 0xffffff, "orientation " + o);
        }
    }

    private static boolean isRed(int rgb) {
        return ((rgb >> 16) & 0xff) > 200 && (rgb & 0xff) < 60;
    }

    private static boolean isBlue(int rgb) {
        return (rgb & 0xff) > 200 && ((rgb >> 16) & 0xff) < 60;
    }

    @Test
    void cropsTheCentralSquareAndAveragesAreasWhenShrinking() {
        // 6x4: columns 0 and 5 are cropped away; the 4x4 centre has a 2x2 checkerboard of 2x2 blocks.
        BufferedImage img = new BufferedImage(6, 4, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 4; y++) {
            for (int x = 0; x < 6; x++) {
                boolean white = x == 0 || x == 5 || ((x - 1) / 2 + y / 2) % 2 == 0;
                img.setRGB(x, y, white ? 0xffffff : 0);
            }
        }
        float[] two = ImagePreprocessor.centerCropResize(img, 2, false);
        assertArrayEquals(new float[] {1, -1, -1, 1}, java.util.Arrays.copyOfRange(two, 0, 4), 1e-6f);
        float[] one = ImagePreprocessor.centerCropResize(img, 1, false);
        assertEquals(0f, one[0], 1e-6f, "the mean of half white, half black");
        float[] flipped = ImagePreprocessor.centerCropResize(img, 2, true);
        assertArrayEquals(new float[] {-1, 1, 1, -1}, java.util.Arrays.copyOfRange(flipped, 0, 4), 1e-6f);
        float[] up = ImagePreprocessor.centerCropResize(img, 8, false);
        assertEquals(1f, up[0], 1e-6f, "enlarging keeps flat regions flat");
        assertEquals(3 * 64, up.length);
    }

    @Test
    void lowResolutionRoundsToWhatTheModelAccepts() {
        TrainingConfig cfg = TrainingConfig.builder("p").resolution(512).resizeRatio(0.625).build();
        assertEquals(new Resolutions(512, 320, 64), Resolutions.of(cfg.resolution(), cfg.resizeRatio(), 512, 8, 4));
        assertEquals(256, Resolutions.of(cfg.resolution(), 0.5, 512, 8, 4).low());
        TrainingConfig defaults = TrainingConfig.builder("p").build();
        assertEquals(new Resolutions(64, 32, 4), Resolutions.of(defaults.resolution(), defaults.resizeRatio(), 64, 2, 2));
        assertEquals(64, Resolutions.of(cfg.resolution(), 0.01, 512, 8, 4).low(), "at least one multiple");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Resolutions.of(520, cfg.resizeRatio(), 512, 8, 4));
        assertTrue(e.getMessage().startsWith("resolution:"), e.getMessage());
    }

    @Test
    void badImagesFailNamingTheirIndex() throws IOException {
        Resolutions res = new Resolutions(64, 32, 4);
        byte[] dog = resource("01.jpg");
        IllegalArgumentException unreadable = assertThrows(IllegalArgumentException.class,
                () -> TrainingDataBuilder.decodeAll(List.of(dog, "not an image".getBytes()), res));
        assertTrue(unreadable.getMessage().startsWith("images[1]:"), unreadable.getMessage());
        byte[] tiny = encode(new BufferedImage(40, 20, BufferedImage.TYPE_INT_RGB), "png");
        IllegalArgumentException small = assertThrows(IllegalArgumentException.class,
                () -> TrainingDataBuilder.decodeAll(List.of(dog, dog, tiny), res));
        assertTrue(small.getMessage().startsWith("images[2]:") && small.getMessage().contains("smaller"),
                small.getMessage());
        byte[] truncated = java.util.Arrays.copyOf(dog, 200);
        assertThrows(IllegalArgumentException.class, () -> TrainingDataBuilder.decodeAll(List.of(truncated), res));
        byte[] cut = java.util.Arrays.copyOf(dog, 1800);
        IllegalArgumentException partial = assertThrows(IllegalArgumentException.class,
                () -> TrainingDataBuilder.decodeAll(List.of(dog, cut), res));
        assertTrue(partial.getMessage().startsWith("images[1]: jpeg image is truncated"), partial.getMessage());
        assertThrows(IllegalArgumentException.class, () -> TrainingDataBuilder.decodeAll(List.of(), res));
        List<byte[]> tooMany = java.util.Collections.nCopies(51, dog);
        assertThrows(IllegalArgumentException.class, () -> TrainingDataBuilder.decodeAll(tooMany, res));
        assertEquals(4, TrainingDataBuilder.decodeAll(List.of(dog, resource("00.jpg"), resource("02.jpg"),
                resource("03.jpg")), res).size());
    }
}
