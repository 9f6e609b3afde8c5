package dev.selectune.api;

import dev.selectune.jobs.LocalFolders;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.stereotype.Component;

import java.nio.file.Path;

/**
 * Tomcat spools multipart parts above {@code spring.servlet.multipart.file-size-threshold} to files in
 * {@code spring.servlet.multipart.location} ({@code data-dir/uploads}) and deletes them when the request ends; a
 * killed process never does, so what is there at start belongs to no request. Created (and emptied) with the other
 * singletons, before the web server accepts its first request.
 */
@Component
class UploadTempFolder {
    UploadTempFolder(@Value("${spring.servlet.multipart.location:}") String location) {
        if (!location.isBlank()) {
            // Tomcat's DiskFileItem names them upload_<uid>_<n>.tmp
            LocalFolders.deleteLeftovers(Path.of(location),
                    name -> name.startsWith("upload_") && name.endsWith(".tmp"));
        }
    }
}
