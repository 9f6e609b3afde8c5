package dev.selectune.generations;

import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;

import java.time.Instant;

/** Something that happened to a generation (queued, claimed, progress, finished), in order of id. */
@Entity
@Table(name = "generation_events")
public class GenerationEvent {
    @Id
    private Long id;
    private String generationId;
    private String level;
    private String type;
    private String message;
    private Instant createdAt;

    protected GenerationEvent() {
    }

    public Long getId() { return id; }
    public String getGenerationId() { return generationId; }
    public String getLevel() { return level; }
    public String getType() { return type; }
    public String getMessage() { return message; }
    public Instant getCreatedAt() { return createdAt; }
}
