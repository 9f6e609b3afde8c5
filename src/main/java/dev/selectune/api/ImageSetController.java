package dev.selectune.api;

import dev.selectune.util.Problem;
import dev.selectune.config.AuthFilter;
import dev.selectune.jobs.JobReads;
import dev.selectune.jobs.ImageSet;
import dev.selectune.jobs.JobService;
import dev.selectune.jobs.InvalidRequest;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.DeleteMapping;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestAttribute;
import org.springframework.web.bind.annotation.RequestPart;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.multipart.MultipartFile;

import java.net.URI;
import java.util.List;

/** {@code POST /v1/image-sets} (multipart {@code images} parts) and {@code GET /v1/image-sets/{id}}. */
@RestController
public class ImageSetController {
    private final JobService service;
    private final ImageUploads uploads;
    private final JobReads reads;

    public ImageSetController(JobService service, ImageUploads uploads, JobReads reads) {
        this.service = service;
        this.uploads = uploads;
        this.reads = reads;
    }

    @PostMapping(path = "/v1/image-sets", consumes = MediaType.MULTIPART_FORM_DATA_VALUE)
    public ResponseEntity<Views.ImageSetView> create(@RequestAttribute(AuthFilter.TENANT) String tenant,
                                                     @RequestPart(name = "images", required = false)
                                                     List<MultipartFile> files) {
        if (files == null || files.isEmpty()) {
            throw new InvalidRequest("no images uploaded",
                    List.of(new Problem("images", "upload at least one 'images' part")));
        }
        ImageSet set = service.createImageSet(tenant, uploads.validate(files));
        return ResponseEntity.created(URI.create("/v1/image-sets/" + set.getId())).body(view(set));
    }

    @GetMapping("/v1/image-sets/{id}")
    public Views.ImageSetView get(@RequestAttribute(AuthFilter.TENANT) String tenant, @PathVariable String id) {
        return view(service.requireImageSet(tenant, id));
    }

    /** Deletes the set and its images (204); refused (409) while jobs made from it exist. */
    @DeleteMapping("/v1/image-sets/{id}")
    public ResponseEntity<Void> delete(@RequestAttribute(AuthFilter.TENANT) String tenant, @PathVariable String id) {
        service.deleteImageSet(tenant, id);
        return ResponseEntity.noContent().build();
    }

    private Views.ImageSetView view(ImageSet set) {
        return new Views.ImageSetView(set.getId(), "image_set", set.getCreatedAt(), set.getImageCount(),
                set.getTotalBytes(), reads.images(set).stream()
                .map(i -> new Views.ImageView(i.getPosition(), i.getFilename(), i.getFormat(), i.getWidth(),
                        i.getHeight(), i.getSizeBytes(), i.getSha256())).toList());
    }
}
