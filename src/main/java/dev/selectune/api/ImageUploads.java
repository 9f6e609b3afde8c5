package dev.selectune.api;

import dev.selectune.util.Problem;
import dev.selectune.config.SelectuneProperties;
import dev.selectune.jobs.NewImage;
import dev.selectune.util.Hashes;
import dev.selectune.training.data.DecodeBudget;
import dev.selectune.training.data.ImageProbe;
import org.springframework.stereotype.Component;
import org.springframework.web.multipart.MultipartFile;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Checks uploaded images by content before anything is stored: count, size per file and per request, type by
 * magic bytes, dimensions and pixel count from the header (nothing above the limits is ever decoded), then a
 * subsampled decode of all pixel data within a decode budget shared by all uploads.
 * Every bad file is reported, each under {@code images[i]}.
 */
@Component
public class ImageUploads {
    /** Filenames are kept only to show them back; longer ones are not names a client meant. */
    static final int MAX_FILENAME_CHARS = 255;
    private final SelectuneProperties.Uploads limits;
    private final DecodeBudget decodeBudget;

    public ImageUploads(SelectuneProperties props) {
        this.limits = props.uploads();
        this.decodeBudget = new DecodeBudget(limits.decodeBudget(), limits.decodeWait());
    }

    /** The budget all uploads' decodes share (for tests and metrics). */
    DecodeBudget decodeBudget() {
        return decodeBudget;
    }

    public List<NewImage> validate(List<MultipartFile> files) {
        if (files == null || files.isEmpty()) {
            return List.of();
        }
        if (files.size() > limits.maxImages()) {
            throw new UploadRefused.TooManyImages(files.size() + " images uploaded; at most " + limits.maxImages()
                    + " are accepted (selectune.uploads.max-images)",
                    new Problem("images", "at most " + limits.maxImages() + " files, got " + files.size()));
        }
        List<Problem> errors = new ArrayList<>();
        for (int i = 0; i < files.size(); i++) {
            String name = files.get(i).getOriginalFilename();
            if (name != null && name.length() > MAX_FILENAME_CHARS) {
                errors.add(new Problem("images[" + i + "]", "filename of " + name.length()
                        + " characters; at most " + MAX_FILENAME_CHARS));
            } else if (name != null && name.chars().anyMatch(Character::isISOControl)) {
                errors.add(new Problem("images[" + i + "]",
                        "filename contains control characters"));
            }
        }
        if (!errors.isEmpty()) {
            throw new UploadRefused.InvalidFilename(errors.size() + " filename(s) refused", errors);
        }
        long total = files.stream().mapToLong(MultipartFile::getSize).sum();
        for (int i = 0; i < files.size(); i++) {
            if (files.get(i).getSize() > limits.maxFileBytes()) {
                errors.add(new Problem("images[" + i + "]", files.get(i).getSize()
                        + " bytes; at most " + limits.maxFileBytes() + " bytes per image"));
            }
        }
        if (!errors.isEmpty() || total > limits.maxRequestBytes()) {
            if (total > limits.maxRequestBytes()) {
                errors.add(new Problem("images", total + " bytes in all; at most "
                        + limits.maxRequestBytes() + " bytes per request"));
            }
            throw new UploadRefused.TooLarge("the images are too large", errors);
        }
        List<NewImage> out = new ArrayList<>();
        for (int i = 0; i < files.size(); i++) {
            MultipartFile f = files.get(i);
            byte[] bytes;
            try {
                bytes = f.getBytes();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            String field = "images[" + i + "]";
            try {
                ImageProbe.Info info = ImageProbe.probeAndDecode(bytes, limits.maxSide(), limits.maxPixels(), decodeBudget);
                if (Math.min(info.width(), info.height()) < limits.minSide()) {
                    errors.add(new Problem(field, describe(f) + info.width() + "x" + info.height()
                            + " px; the short side must be at least " + limits.minSide() + " px"));
                    continue;
                }
                out.add(new NewImage(f.getOriginalFilename(), bytes, info, Hashes.sha256Hex(bytes)));
            } catch (ImageProbe.InvalidImageException e) {
                errors.add(new Problem(field, describe(f) + e.getMessage()));
            } catch (DecodeBudget.Exhausted e) {
                throw new UploadRefused.DecodeBusy(e.getMessage() + "; try again", e.retryAfter());
            }
        }
        if (!errors.isEmpty()) {
            throw new UploadRefused.InvalidImage(errors.size() + " of " + files.size() + " image(s) refused",
                    errors);
        }
        return out;
    }

    private static String describe(MultipartFile f) {
        return f.getOriginalFilename() == null || f.getOriginalFilename().isBlank() ? ""
                : "'" + f.getOriginalFilename() + "': ";
    }
}
