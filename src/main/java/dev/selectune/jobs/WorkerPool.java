package dev.selectune.jobs;

import ai.djl.Device;
import dev.selectune.config.SelectuneProperties;
import dev.selectune.metrics.ProcessMemory;
import dev.selectune.metrics.SelectuneMetrics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.context.SmartLifecycle;
import org.springframework.stereotype.Component;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * One worker thread per configured device ({@code selectune.devices}), each claiming and running one job at a time.
 * Off when {@code selectune.workers.enabled=false} (API-only replicas). On shutdown the workers stop claiming, ask
 * their running jobs to checkpoint, and put them back in the queue for another replica; a generation running on a
 * worker (idle, or between two steps of its job) goes back to its queue too.
 */
@Component
public class WorkerPool implements SmartLifecycle {
    private static final Logger log = LoggerFactory.getLogger(WorkerPool.class);

    private final SelectuneProperties props;
    private final JobQueue queue;
    private final SelectuneMetrics metrics;
    private final List<Device> devices;
    private final String replicaId;
    private volatile boolean started;
    private final List<Thread> threads = new ArrayList<>();
    private final List<JobRunner> runners = new ArrayList<>();
    private final Map<String, JobRunner.Running> running = new ConcurrentHashMap<>();
    private volatile boolean claiming;
    private volatile boolean stopping;
    private final ObjectProvider<InterleavedWork> interleaved;

    public WorkerPool(SelectuneProperties props, JobQueue queue, SelectuneMetrics metrics,
                      JobRunnerFactory runnerFactory, ObjectProvider<InterleavedWork> interleaved) {
        this.interleaved = interleaved;
        this.props = props;
        this.queue = queue;
        this.metrics = metrics;
        this.devices = Devices.parse(props.devices());
        this.replicaId = hostName() + "-" + UUID.randomUUID().toString().substring(0, 8);
        for (Device device : devices) {
            String label = Devices.label(device);
            metrics.registerDevice(label, d -> deviceMemoryUsed(device));
            runners.add(runnerFactory.create(replicaId + "/" + label, device));
        }
    }

    @Override
    public synchronized void start() {
        started = true;
        if (!props.workers().enabled()) {
            log.info("selectune.workers.enabled=false: this replica serves the API only");
            return;
        }
        stopping = false;
        claiming = true;
        for (int i = 0; i < runners.size(); i++) {
            JobRunner runner = runners.get(i);
            String label = Devices.label(devices.get(i));
            String workerId = replicaId + "/" + label;
            Device device = devices.get(i);
            Thread t = new Thread(() -> loop(runner, workerId, device), "selectune-worker-" + label);
            threads.add(t);
            t.start();
        }
        log.info("{} worker(s) started on {} as replica {}", runners.size(), devices, replicaId);
    }

    private void loop(JobRunner runner, String workerId, Device dev) {
        String device = Devices.label(dev);
        long pollMillis = props.workers().poll().toMillis();
        while (!stopping) {
            try {
                // Short work first: a generation takes seconds, a job hours (docs/service.md, "Generations").
                if (claiming && runInterleaved(workerId, dev)) {
                    continue;
                }
                var claimed = claiming ? queue.claim(workerId, device, props.workers().lease())
                        : java.util.Optional.<JobQueue.Lease>empty();
                if (claimed.isEmpty()) {
                    synchronized (this) {
                        wait(pollMillis);
                    }
                    continue;
                }
                // Between two training steps the worker runs at most one piece of short work.
                JobRunner.Running job = new JobRunner.Running(claimed.get(), () -> {
                    if (claiming && !stopping) {
                        runInterleaved(workerId, dev);
                    }
                });
                running.put(job.jobId, job);
                try {
                    if (stopping) {
                        job.stop(StopReason.SHUTDOWN);
                    }
                    runner.run(job);
                } finally {
                    running.remove(job.jobId);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (RuntimeException e) {
                log.error("worker {}: {}", workerId, e.toString(), e);
                sleepQuietly(pollMillis);
            }
        }
    }

    /** Runs one piece of {@link InterleavedWork} if any is queued; its failures are its own (logged, not thrown). */
    private boolean runInterleaved(String workerId, Device device) {
        for (InterleavedWork work : interleaved.orderedStream().toList()) {
            try {
                if (work.runOne(workerId, device, () -> stopping)) {
                    return true;
                }
            } catch (RuntimeException e) {
                log.error("worker {}: {}", workerId, e.toString(), e);
            }
        }
        return false;
    }

    /** Wakes idle workers (a job was just queued on this replica). */
    public synchronized void nudge() {
        notifyAll();
    }

    /** Stops new claims (running jobs go on). Used by shutdown, and by operators draining a replica. */
    public void pauseClaims() {
        claiming = false;
    }

    public void resumeClaims() {
        claiming = props.workers().enabled();
        nudge();
    }

    /** Asks a job running on this replica to stop at its next step; false when it does not run here. */
    public boolean cancelLocal(String jobId) {
        JobRunner.Running job = running.get(jobId);
        if (job == null) {
            return false;
        }
        job.stop(StopReason.CANCEL_REQUESTED);
        return true;
    }

    public int runningCount() {
        return running.size();
    }

    public List<String> deviceLabels() {
        return devices.stream().map(Devices::label).toList();
    }

    /**
     * Graceful stop: no new claims; running jobs are asked to checkpoint and go back to the queue (without spending
     * an attempt) for another replica, and so does running {@link InterleavedWork} (it sees {@code stopping} at its
     * next step). Waits for the worker threads; {@link #start()} may start them again.
     */
    @Override
    public void stop() {
        started = false;
        stopping = true;
        claiming = false;
        running.values().forEach(job -> job.stop(StopReason.SHUTDOWN));
        nudge();
        for (Thread t : threads) {
            try {
                // The trainer checks the token between steps; a long step on a real model may take a while.
                t.join(TimeUnit.MINUTES.toMillis(2));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        threads.clear();
    }

    @Override
    public boolean isRunning() {
        return started;
    }

    private double deviceMemoryUsed(Device device) {
        if (device.isGpu()) {
            var usage = ai.djl.util.cuda.CudaUtils.getGpuMemory(device);
            return usage.getUsed();
        }
        return ProcessMemory.residentBytes();
    }

    private static String hostName() {
        String name = ManagementFactory.getRuntimeMXBean().getName();
        int at = name.indexOf('@');
        return at >= 0 ? name.substring(at + 1) : name;
    }

    private static void sleepQuietly(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
