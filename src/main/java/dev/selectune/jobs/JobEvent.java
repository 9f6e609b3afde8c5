package dev.selectune.jobs;

import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;

import java.time.Instant;

/** Something that happened to a job (queued, claimed, progress, checkpoint, resumed, finished), in order of id. */
@Entity
@Table(name = "job_events")
public class JobEvent {
    @Id
    private Long id;
    private String jobId;
    private String level;
    private String type;
    private String message;
    private Instant createdAt;

    protected JobEvent() {
    }

    public Long getId() { return id; }
    public String getJobId() { return jobId; }
    public String getLevel() { return level; }
    public String getType() { return type; }
    public String getMessage() { return message; }
    public Instant getCreatedAt() { return createdAt; }
}
