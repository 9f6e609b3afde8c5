package dev.selectune.api;

import dev.selectune.util.Problem;
import dev.selectune.jobs.RequestRejected;

import java.time.Duration;
import java.util.List;

/** Uploaded images refused before anything is stored, one kind per subclass (see {@link ImageUploads}). */
public abstract class UploadRefused extends RequestRejected {
    UploadRefused(String detail, List<Problem> problems) {
        super(detail, problems);
    }

    /** More images than {@code selectune.uploads.max-images}. */
    public static final class TooManyImages extends UploadRefused {
        TooManyImages(String detail, Problem problem) {
            super(detail, List.of(problem));
        }
    }

    /** Filenames too long or with control characters. */
    public static final class InvalidFilename extends UploadRefused {
        InvalidFilename(String detail, List<Problem> problems) {
            super(detail, problems);
        }
    }

    /** An image or the whole request over the byte limits. */
    public static final class TooLarge extends UploadRefused {
        TooLarge(String detail, List<Problem> problems) {
            super(detail, problems);
        }
    }

    /** Not an image, or one of the wrong size, named by its index. */
    public static final class InvalidImage extends UploadRefused {
        InvalidImage(String detail, List<Problem> problems) {
            super(detail, problems);
        }
    }

    /** The images are fine but the shared decode budget has no room now: try again after {@link #retryAfter()}. */
    public static final class DecodeBusy extends UploadRefused {
        private final Duration retryAfter;

        DecodeBusy(String detail, Duration retryAfter) {
            super(detail, List.of());
            this.retryAfter = retryAfter;
        }

        public Duration retryAfter() {
            return retryAfter;
        }
    }
}
