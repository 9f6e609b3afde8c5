package dev.selectune.api;

import dev.selectune.jobs.RequestRejected;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.config.BeanDefinition;
import org.springframework.context.annotation.ClassPathScanningCandidateComponentProvider;
import org.springframework.core.type.filter.AssignableTypeFilter;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Every kind of refusal in the code base has its problem type, so none turns into a 500 when thrown. */
class ProblemHandlerKindsTest {
    @Test
    void everyRequestRejectedSubclassIsMapped() throws ClassNotFoundException {
        ClassPathScanningCandidateComponentProvider scanner = new ClassPathScanningCandidateComponentProvider(false);
        scanner.addIncludeFilter(new AssignableTypeFilter(RequestRejected.class));
        List<String> kinds = new ArrayList<>();
        for (BeanDefinition d : scanner.findCandidateComponents("dev.selectune")) {
            Class<? extends RequestRejected> type = Class.forName(d.getBeanClassName())
                    .asSubclass(RequestRejected.class);
            ProblemHandler.Kind kind = ProblemHandler.kind(type);
            assertThat(kind.status().is4xxClientError() || kind.status().value() == 503).as(type.getName()).isTrue();
            kinds.add(type.getSimpleName());
        }
        assertThat(kinds).contains("InvalidRequest", "NotFound", "JobActive", "JobFinished", "ImageSetInUse",
                "IdempotencyKeyReused", "InvalidParameter", "TooManyImages", "DecodeBusy");
    }
}
