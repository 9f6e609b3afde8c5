package dev.selectune.jobs;

import org.springframework.data.jpa.repository.JpaRepository;

import java.util.List;

public interface ImageRecordRepository extends JpaRepository<ImageRecord, ImageRecord.Key> {
    List<ImageRecord> findByImageSetIdOrderByPosition(String imageSetId);
}
