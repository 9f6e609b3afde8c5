package dev.selectune.api;

import dev.selectune.jobs.JobEvent;
import dev.selectune.jobs.JobEventRepository;
import dev.selectune.jobs.JobRepository;
import jakarta.annotation.PreDestroy;
import org.springframework.context.SmartLifecycle;
import org.springframework.data.domain.Limit;
import org.springframework.http.MediaType;
import org.springframework.stereotype.Component;
import org.springframework.web.servlet.mvc.method.annotation.SseEmitter;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.function.LongFunction;

/**
 * Server-sent event streams of job events. Events are rows written by whichever replica runs the job, so each
 * stream polls the table (cheap: an index range after the last id sent) and ends once the job is finished and
 * every event has gone out. Each SSE event carries the row id, so a client reconnects with {@code Last-Event-ID}.
 */
@Component
public class EventStreams implements SmartLifecycle {
    private static final Duration POLL = Duration.ofMillis(500);
    private static final Duration TIMEOUT = Duration.ofHours(6);
    private static final int BATCH = 500;

    private final JobEventRepository events;
    private final JobRepository jobs;
    private final ScheduledExecutorService timer = Executors.newScheduledThreadPool(1, r -> {
        Thread t = new Thread(r, "selectune-sse");
        t.setDaemon(true);
        return t;
    });

    private final Set<SseEmitter> open = ConcurrentHashMap.newKeySet();
    private volatile boolean running;

    public EventStreams(JobEventRepository events, JobRepository jobs) {
        this.events = events;
        this.jobs = jobs;
    }

    public SseEmitter follow(String jobId, long afterId) {
        return follow(() -> jobs.findById(jobId).map(j -> j.getStatus().isTerminal()).orElse(true),
                after -> events.findByJobIdAndIdGreaterThanOrderById(jobId, after, Limit.of(BATCH)).stream()
                        .map(EventStreams::view).toList(), afterId);
    }

    /**
     * Streams the events that {@code after} returns (those with ids above the given one, oldest first, at most
     * {@value #BATCH}) until {@code finished} says the object is finished and every event has gone out.
     */
    public SseEmitter follow(BooleanSupplier finished, LongFunction<List<Views.EventView>> after, long afterId) {
        SseEmitter emitter = new SseEmitter(TIMEOUT.toMillis());
        AtomicLong last = new AtomicLong(afterId);
        AtomicReference<ScheduledFuture<?>> task = new AtomicReference<>();
        Runnable poll = () -> {
            try {
                // Read the status first: events written before a job finishes are then certain to be seen below.
                boolean done = finished.getAsBoolean();
                List<Views.EventView> batch = after.apply(last.get());
                for (Views.EventView e : batch) {
                    emitter.send(SseEmitter.event().id(String.valueOf(e.id())).name(e.type())
                            .data(e, MediaType.APPLICATION_JSON));
                    last.set(e.id());
                }
                if (done && batch.size() < BATCH) {
                    emitter.complete();
                    cancel(task);
                }
            } catch (IOException | IllegalStateException e) {
                // The client went away (or the emitter already completed).
                cancel(task);
            } catch (RuntimeException e) {
                emitter.completeWithError(e);
                cancel(task);
            }
        };
        task.set(timer.scheduleWithFixedDelay(poll, 0, POLL.toMillis(), TimeUnit.MILLISECONDS));
        open.add(emitter);
        emitter.onCompletion(() -> {
            open.remove(emitter);
            cancel(task);
        });
        emitter.onTimeout(() -> cancel(task));
        emitter.onError(e -> cancel(task));
        return emitter;
    }

    private static void cancel(AtomicReference<ScheduledFuture<?>> task) {
        ScheduledFuture<?> f = task.get();
        if (f != null) {
            f.cancel(false);
        }
    }

    static Views.EventView view(JobEvent e) {
        return new Views.EventView(e.getId(), "job.event", e.getLevel(), e.getType(), e.getMessage(), e.getCreatedAt());
    }

    @Override
    public void start() {
        running = true;
    }

    /**
     * Ends every open stream before the web server's graceful shutdown, which would otherwise wait for these
     * never-ending responses; clients reconnect elsewhere with {@code Last-Event-ID}.
     */
    @Override
    public void stop() {
        running = false;
        open.forEach(SseEmitter::complete);
        open.clear();
    }

    @Override
    public boolean isRunning() {
        return running;
    }

    /** After the workers (which stop first), before the web server's graceful shutdown. */
    @Override
    public int getPhase() {
        return SmartLifecycle.DEFAULT_PHASE - 1024;
    }

    @PreDestroy
    void close() {
        timer.shutdownNow();
    }
}
