package dev.selectune.training.data;

import org.junit.jupiter.api.Test;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.CRC32;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Header-only inspection: format by content, size without decoding, bombs refused, broken files caught by decode. */
class ImageProbeTest {

    @Test
    void readsFormatAndSizeOfRealImages() throws IOException {
        byte[] jpeg = Files.readAllBytes(Path.of("examples/images/dog/00.jpg"));
        assertThat(ImageProbe.probeAndDecode(jpeg, 8192)).isEqualTo(new ImageProbe.Info("jpeg", "image/jpeg", 128, 128));
        byte[] png = encode(new BufferedImage(300, 200, BufferedImage.TYPE_INT_ARGB), "png");
        assertThat(ImageProbe.probeAndDecode(png, 8192)).isEqualTo(new ImageProbe.Info("png", "image/png", 300, 200));
    }

    @Test
    void judgesByContentNotName() {
        byte[] gif = encode(new BufferedImage(80, 80, BufferedImage.TYPE_BYTE_INDEXED), "gif");
        assertThat(ImageProbe.sniffFormat(gif)).isNull();
        assertThatThrownBy(() -> ImageProbe.probe(gif, 8192)).hasMessageContaining("not a PNG, JPEG or WebP");
        assertThatThrownBy(() -> ImageProbe.probe("%PDF-1.7".getBytes(StandardCharsets.US_ASCII), 8192))
                .isInstanceOf(ImageProbe.InvalidImageException.class);
        assertThat(ImageProbe.sniffFormat("RIFF\0\0\0\0WEBPVP8 ".getBytes(StandardCharsets.ISO_8859_1))).isEqualTo("webp");
    }

    /** A 60000 x 60000 PNG header would need 14 GB of pixels: refused from the header, nothing decoded. */
    @Test
    void refusesAnOversizedHeaderBeforeDecoding() {
        byte[] bomb = pngHeader(60000, 60000);
        assertThatThrownBy(() -> ImageProbe.probe(bomb, 8192)).hasMessageContaining("60000x60000")
                .hasMessageContaining("8192");
        assertThat(ImageProbe.probe(pngHeader(8192, 100), 8192).width()).isEqualTo(8192);
    }

    @Test
    void aTruncatedFilePassesTheHeaderButFailsTheDecode() {
        byte[] png = encode(new BufferedImage(200, 200, BufferedImage.TYPE_INT_RGB), "png");
        byte[] cut = Arrays.copyOf(png, 50);
        assertThat(ImageProbe.probe(cut, 8192).width()).isEqualTo(200);
        assertThatThrownBy(() -> ImageProbe.probeAndDecode(cut, 8192)).hasMessageContaining("png");
    }

    /** libjpeg decodes a cut JPEG with only a warning ("Premature end of JPEG file"): the warning refuses it. */
    @Test
    void aTruncatedJpegIsRefused() throws IOException {
        byte[] jpeg = Files.readAllBytes(Path.of("examples/images/dog/00.jpg"));
        byte[] cut = Arrays.copyOf(jpeg, 1800);
        assertThat(ImageProbe.probe(cut, 8192).width()).isEqualTo(128);
        assertThatThrownBy(() -> ImageProbe.probeAndDecode(cut, 8192))
                .isInstanceOf(ImageProbe.InvalidImageException.class).hasMessageContaining("jpeg image is truncated");
    }

    /** ImageIO does not miss a PNG's IEND; a file cut after its last IDAT or inside a chunk is still not whole. */
    @Test
    void aPngWithoutIendOrWithACutChunkIsRefused() {
        byte[] png = encode(new BufferedImage(120, 90, BufferedImage.TYPE_INT_RGB), "png");
        byte[] noIend = Arrays.copyOf(png, png.length - 12);
        assertThatThrownBy(() -> ImageProbe.probeAndDecode(noIend, 8192)).hasMessageContaining("no IEND chunk");
        byte[] cutChunk = Arrays.copyOf(png, png.length - 14);
        assertThatThrownBy(() -> ImageProbe.probeAndDecode(cutChunk, 8192)).hasMessageContaining("png image is truncated");
        assertThat(ImageProbe.probeAndDecode(png, 8192).height()).isEqualTo(90);
    }

    /** TwelveMonkeys decodes this lossless WebP (64 px, made by Pillow) cut in half without an error. */
    @Test
    void aTruncatedWebpIsRefused() throws IOException {
        byte[] webp = Files.readAllBytes(Path.of("src/test/resources/images/dog-lossless.webp"));
        assertThat(ImageProbe.probeAndDecode(webp, 8192)).isEqualTo(new ImageProbe.Info("webp", "image/webp", 64, 64));
        byte[] cut = Arrays.copyOf(webp, webp.length / 2);
        assertThatThrownBy(() -> ImageProbe.probeAndDecode(cut, 8192)).hasMessageContaining("webp image is truncated");
        byte[] shortened = Arrays.copyOf(webp, webp.length / 2);
        ByteBuffer.wrap(shortened).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(4, shortened.length - 8);
        assertThatThrownBy(() -> ImageProbe.probeAndDecode(shortened, 8192))
                .hasMessageContaining("chunk runs past the end");
    }

    @Test
    void onlyWarningsAboutMissingPixelsRefuseAnImage() {
        assertThat(CompleteDecode.meansMissingPixels("Premature end of JPEG file")).isTrue();
        assertThat(CompleteDecode.meansMissingPixels("Truncated File - Missing EOI marker")).isTrue();
        assertThat(CompleteDecode.meansMissingPixels("Corrupt JPEG data: bad Huffman code")).isTrue();
        assertThat(CompleteDecode.meansMissingPixels("Corrupt JPEG data: 3 extraneous bytes before marker 0xd9"))
                .isFalse();
        assertThat(CompleteDecode.meansMissingPixels("Ignoring ICC profile")).isFalse();
    }

    static byte[] encode(BufferedImage image, String format) {
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ImageIO.write(image, format, out);
            return out.toByteArray();
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    static byte[] pngHeader(int width, int height) {
        byte[] ihdr = ByteBuffer.allocate(13).putInt(width).putInt(height).put((byte) 8).put((byte) 2)
                .put((byte) 0).put((byte) 0).put((byte) 0).array();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(new byte[] {(byte) 0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a});
        out.writeBytes(ByteBuffer.allocate(4).putInt(13).array());
        byte[] type = "IHDR".getBytes(StandardCharsets.US_ASCII);
        out.writeBytes(type);
        out.writeBytes(ihdr);
        CRC32 crc = new CRC32();
        crc.update(type);
        crc.update(ihdr);
        out.writeBytes(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
        return out.toByteArray();
    }
}
