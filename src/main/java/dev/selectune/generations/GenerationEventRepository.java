package dev.selectune.generations;

import org.springframework.data.domain.Limit;
import org.springframework.data.jpa.repository.JpaRepository;

import java.util.List;

public interface GenerationEventRepository extends JpaRepository<GenerationEvent, Long> {
    List<GenerationEvent> findByGenerationIdAndIdGreaterThanOrderById(String generationId, long afterId, Limit limit);
}
