package dev.selectune.jobs;

import org.springframework.data.jpa.repository.JpaRepository;

import java.util.List;
import java.util.Optional;

public interface ArtifactRepository extends JpaRepository<Artifact, Artifact.Key> {
    List<Artifact> findByJobIdOrderByName(String jobId);

    Optional<Artifact> findByJobIdAndName(String jobId, String name);
}
