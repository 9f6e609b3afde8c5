package dev.selectune.jobs;

import org.springframework.data.jpa.repository.JpaRepository;

import java.util.Optional;

public interface ImageSetRepository extends JpaRepository<ImageSet, String> {
    Optional<ImageSet> findByIdAndTenant(String id, String tenant);
}
