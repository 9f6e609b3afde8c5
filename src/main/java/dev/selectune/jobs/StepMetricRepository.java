package dev.selectune.jobs;

import org.springframework.data.domain.Limit;
import org.springframework.data.jpa.repository.JpaRepository;

import java.util.List;

public interface StepMetricRepository extends JpaRepository<StepMetric, StepMetric.Key> {
    List<StepMetric> findByJobIdAndStepGreaterThanOrderByStep(String jobId, int afterStep, Limit limit);
}
