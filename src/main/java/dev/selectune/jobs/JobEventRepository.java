package dev.selectune.jobs;

import org.springframework.data.domain.Limit;
import org.springframework.data.jpa.repository.JpaRepository;

import java.util.List;

public interface JobEventRepository extends JpaRepository<JobEvent, Long> {
    List<JobEvent> findByJobIdAndIdGreaterThanOrderById(String jobId, long afterId, Limit limit);
}
