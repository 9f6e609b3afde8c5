package dev.selectune.console;

import dev.selectune.api.Views;
import dev.selectune.api.JobViews;
import dev.selectune.jobs.Artifact;
import dev.selectune.jobs.InvalidParameter;
import dev.selectune.jobs.JobEvent;
import dev.selectune.jobs.JobReads;
import dev.selectune.jobs.JobService;
import dev.selectune.jobs.JobStatus;
import dev.selectune.jobs.Slice;
import jakarta.servlet.http.HttpServletRequest;
import org.springframework.stereotype.Controller;
import org.springframework.ui.Model;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestParam;
import tools.jackson.databind.json.JsonMapper;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The jobs table and the job page. Every read and action goes through {@link JobReads} and {@link JobService} with
 * the signed-in tenant, as the API's do; the live parts (table rows, the job's summary) are fragments that htmx
 * reloads, and the job page's script follows the API's own SSE stream and metrics.
 */
@Controller
public class JobPages {
    static final int PAGE_SIZE = 20;
    private static final int EVENTS_SHOWN = 500;

    private final ConsoleSession session;
    private final JobService service;
    private final JobReads reads;
    private final JobViews views;
    private final JsonMapper json;

    public JobPages(ConsoleSession session, JobService service, JobReads reads, JobViews views, JsonMapper json) {
        this.session = session;
        this.service = service;
        this.reads = reads;
        this.views = views;
        this.json = json;
    }

    @GetMapping("/")
    public String home() {
        return "redirect:/jobs";
    }

    @GetMapping("/jobs")
    public String jobs(@RequestParam(required = false) String status, @RequestParam(required = false) String after,
                       HttpServletRequest request, Model model) {
        table(status, after, request, model);
        model.addAttribute("statuses", Arrays.stream(JobStatus.values()).map(JobStatus::wireName).toList());
        return "console/jobs";
    }

    /** The table's rows alone: what htmx fetches every few seconds to keep the table live. */
    @GetMapping("/jobs/rows")
    public String rows(@RequestParam(required = false) String status, @RequestParam(required = false) String after,
                       HttpServletRequest request, Model model) {
        table(status, after, request, model);
        return "console/jobs :: rows";
    }

    private void table(String status, String after, HttpServletRequest request, Model model) {
        String tenant = session.requireTenant(request);
        String filter = status == null || status.isBlank() ? null : status;
        JobStatus wanted = null;
        if (filter != null) {
            try {
                wanted = JobStatus.fromWireName(filter);
            } catch (IllegalArgumentException e) {
                throw new InvalidParameter("status", e.getMessage());
            }
        }
        String cursor = after == null || after.isBlank() ? null : after;
        Slice<dev.selectune.jobs.Job> page = reads.list(tenant, wanted, cursor, PAGE_SIZE);
        model.addAttribute("jobs", views.views(page.items()));
        model.addAttribute("status", filter);
        model.addAttribute("after", cursor);
        model.addAttribute("nextAfter", page.hasMore() && page.last() != null ? page.last().getId() : null);
    }

    @GetMapping("/jobs/{id}")
    public String job(@PathVariable String id, HttpServletRequest request, Model model) {
        String tenant = session.requireTenant(request);
        Views.JobView job = views.view(service.require(tenant, id));
        summary(job, tenant, model);
        Slice<JobEvent> events = reads.events(tenant, id, 0, EVENTS_SHOWN);
        List<Views.EventView> shown = events.items().stream().map(e -> new Views.EventView(e.getId(), "job.event",
                e.getLevel(), e.getType(), e.getMessage(), e.getCreatedAt())).toList();
        model.addAttribute("events", shown);
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("id", job.id());
        data.put("status", job.status());
        data.put("terminal", JobStatus.fromWireName(job.status()).isTerminal());
        data.put("last_event_id", shown.isEmpty() ? 0 : shown.get(shown.size() - 1).id());
        data.put("bp_peak_bytes", job.memory().bpPeakBytes());
        data.put("zo_peak_bytes", job.memory().zoPeakBytes());
        data.put("curve", DtapCurve.of(job.spec().check().config()));
        model.addAttribute("pageData", json.writeValueAsString(data));
        return "console/job";
    }

    /** The job's status, progress, peaks and results: reloaded by the page on each SSE event. */
    @GetMapping("/jobs/{id}/summary")
    public String summaryFragment(@PathVariable String id, HttpServletRequest request, Model model) {
        String tenant = session.requireTenant(request);
        summary(views.view(service.require(tenant, id)), tenant, model);
        return "console/job :: live";
    }

    /** Samples, scores and downloads: reloaded by the page when the job finishes. */
    @GetMapping("/jobs/{id}/results")
    public String resultsFragment(@PathVariable String id, HttpServletRequest request, Model model) {
        String tenant = session.requireTenant(request);
        summary(views.view(service.require(tenant, id)), tenant, model);
        return "console/job :: results";
    }

    private void summary(Views.JobView job, String tenant, Model model) {
        model.addAttribute("job", job);
        model.addAttribute("schedule", String.valueOf(job.spec().hyperparameters().values().get("schedule")));
        List<Artifact> artifacts = reads.artifacts(tenant, job.id());
        model.addAttribute("artifacts", artifacts);
        model.addAttribute("samples", artifacts.stream().map(Artifact::getName)
                .filter(n -> n.startsWith("sample-") && n.endsWith(".png")).toList());
        model.addAttribute("contactSheet", artifacts.stream().map(Artifact::getName)
                .filter(n -> n.equals("contact-sheet.png")).findFirst().orElse(null));
        model.addAttribute("scores", Scores.of(job.evaluation()));
        model.addAttribute("terminal", JobStatus.fromWireName(job.status()).isTerminal());
    }

    @PostMapping("/jobs/{id}/cancel")
    public String cancel(@PathVariable String id, HttpServletRequest request) {
        service.cancel(session.requireTenant(request), id);
        return "redirect:/jobs/" + id;
    }

    @PostMapping("/jobs/{id}/delete")
    public String delete(@PathVariable String id, HttpServletRequest request) {
        service.deleteJob(session.requireTenant(request), id);
        return "redirect:/jobs";
    }

    /** Two or more jobs side by side: the spec values that differ, final loss, peaks, samples and scores. */
    @GetMapping("/compare")
    public String compare(@RequestParam(name = "ids", required = false) List<String> ids, HttpServletRequest request,
                          Model model) {
        String tenant = session.requireTenant(request);
        List<String> distinct = ids == null ? List.of() : ids.stream().filter(s -> !s.isBlank()).distinct().toList();
        List<Views.JobView> jobs = distinct.stream().map(id -> views.view(service.require(tenant, id))).toList();
        List<List<String>> samples = new ArrayList<>();
        List<Scores> scores = new ArrayList<>();
        for (Views.JobView j : jobs) {
            samples.add(reads.artifacts(tenant, j.id()).stream().map(Artifact::getName)
                    .filter(n -> n.startsWith("sample-") && n.endsWith(".png")).toList());
            scores.add(Scores.of(j.evaluation()));
        }
        model.addAttribute("jobs", jobs);
        model.addAttribute("samples", samples);
        model.addAttribute("scores", scores);
        model.addAttribute("rows", SpecDifferences.of(jobs));
        return "console/compare";
    }
}
