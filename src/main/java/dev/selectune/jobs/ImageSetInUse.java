package dev.selectune.jobs;

import java.util.List;

/** An image set that jobs were made from cannot be deleted: they name it, and a resumed job reads its images. */
public class ImageSetInUse extends RequestRejected {
    public ImageSetInUse(String imageSetId, List<String> jobIds) {
        super("image set " + imageSetId + " is used by job(s) " + String.join(", ", jobIds) + "; delete them first",
                List.of());
    }
}
