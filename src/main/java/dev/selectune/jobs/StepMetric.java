package dev.selectune.jobs;

import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.IdClass;
import jakarta.persistence.Table;

import java.io.Serializable;

/** One training step of a job: the paper's per-step figures (strategy, timestep, p_zo, loss, time, memory). */
@Entity
@Table(name = "job_metrics")
@IdClass(StepMetric.Key.class)
public class StepMetric {
    @Id
    private String jobId;
    @Id
    private int step;
    private String strategy;
    private int timestep;
    private double pZo;
    private double loss;
    private double seconds;
    private long peakBytes;

    public record Key(String jobId, int step) implements Serializable {
        public Key() {
            this(null, 0);
        }
    }

    protected StepMetric() {
    }

    public String getJobId() { return jobId; }
    public int getStep() { return step; }
    public String getStrategy() { return strategy; }
    public int getTimestep() { return timestep; }
    public double getPZo() { return pZo; }
    public double getLoss() { return loss; }
    public double getSeconds() { return seconds; }
    public long getPeakBytes() { return peakBytes; }
}
