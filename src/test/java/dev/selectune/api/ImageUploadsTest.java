package dev.selectune.api;

import org.junit.jupiter.api.Test;
import org.springframework.http.MediaType;
import org.springframework.mock.web.MockPart;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.multipart;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.header;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.jsonPath;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.status;

/** Images that do not decode completely are refused on both upload routes, naming the file, with nothing stored. */
class ImageUploadsTest extends ServiceTestBase {

    /** The first 1,800 bytes of a 3.6 KB JPEG: its header is whole, its pixels are not. */
    private static final byte[] CUT_JPEG = Arrays.copyOf(TestImages.dog(0), 1800);

    @Test
    void aTruncatedJpegIsRefusedByImageSets() throws Exception {
        long sets = count("image_sets");
        long blobs = count("blobs");
        mvc.perform(multipart("/v1/image-sets").file(TestImages.dogPart(1))
                        .file(TestImages.part("cut.jpg", "image/jpeg", CUT_JPEG)).header("Authorization", ACME))
                .andExpect(status().isUnprocessableContent()).andExpect(matchesOpenApi())
                .andExpect(header().string("Content-Type", "application/problem+json"))
                .andExpect(jsonPath("$.errors[0].field").value("images[1]"))
                .andExpect(jsonPath("$.errors[0].message", containsString("'cut.jpg': jpeg image is truncated")));
        assertThat(count("image_sets")).isEqualTo(sets);
        assertThat(count("blobs")).isEqualTo(blobs);
    }

    @Test
    void aTruncatedJpegIsRefusedByAMultipartJob() throws Exception {
        long sets = count("image_sets");
        long jobs = count("jobs");
        mvc.perform(multipart("/v1/jobs").file(TestImages.part("cut.jpg", "image/jpeg", CUT_JPEG))
                        .file(TestImages.dogPart(0))
                        .part(new MockPart("spec", null, ApiRequestsTest.spec("").getBytes(StandardCharsets.UTF_8),
                                MediaType.APPLICATION_JSON))
                        .header("Authorization", ACME))
                .andExpect(status().isUnprocessableContent()).andExpect(matchesOpenApi())
                .andExpect(jsonPath("$.errors[0].field").value("images[0]"))
                .andExpect(jsonPath("$.errors[0].message", containsString("'cut.jpg': jpeg image is truncated")));
        assertThat(count("image_sets")).isEqualTo(sets);
        assertThat(count("jobs")).isEqualTo(jobs);
    }

    private long count(String table) {
        return jdbc.queryForObject("select count(*) from " + table, Long.class);
    }
}
