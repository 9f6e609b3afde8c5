package dev.selectune.generations;

import org.springframework.data.jpa.repository.JpaRepository;

import java.util.List;
import java.util.Optional;

public interface GenerationImageRepository extends JpaRepository<GenerationImage, GenerationImage.Key> {
    List<GenerationImage> findByGenerationIdOrderByPosition(String generationId);

    Optional<GenerationImage> findByGenerationIdAndName(String generationId, String name);
}
