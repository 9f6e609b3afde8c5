package dev.selectune.evaluation;

import dev.selectune.evaluation.image.Rgb8Image;
import dev.selectune.evaluation.io.EvaluationException;
import dev.selectune.training.data.ImageDecoder;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/** Reads the images of a folder (JPEG, PNG, WebP; EXIF orientation applied), in file-name order. */
public final class ImageFiles {
    private static final List<String> EXTENSIONS = List.of(".jpg", ".jpeg", ".png", ".webp");

    private ImageFiles() {
    }

    /** The image files directly in {@code dir}, sorted by name. */
    public static List<Path> list(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new EvaluationException(dir + ": not a directory");
        }
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(Files::isRegularFile).filter(p -> {
                String name = p.getFileName().toString().toLowerCase(Locale.ROOT);
                return EXTENSIONS.stream().anyMatch(name::endsWith);
            }).sorted((a, b) -> a.getFileName().toString().compareTo(b.getFileName().toString())).toList();
        } catch (IOException e) {
            throw new EvaluationException(dir + ": cannot list: " + e.getMessage(), e);
        }
    }

    public static Rgb8Image read(Path file) {
        try {
            return Rgb8Image.of(ImageDecoder.decode(Files.readAllBytes(file), 0));
        } catch (IOException | IllegalArgumentException e) {
            throw new EvaluationException(file + ": " + e.getMessage().replace("images[0]: ", ""), e);
        }
    }

    /** Every image of {@code dir}; fails on an empty folder. */
    public static List<Rgb8Image> readAll(Path dir) {
        List<Path> files = list(dir);
        if (files.isEmpty()) {
            throw new EvaluationException(dir + ": no .jpg, .jpeg, .png or .webp files");
        }
        List<Rgb8Image> out = new ArrayList<>();
        for (Path f : files) {
            out.add(read(f));
        }
        return out;
    }
}
