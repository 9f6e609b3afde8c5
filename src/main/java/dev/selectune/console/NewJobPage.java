package dev.selectune.console;

import dev.selectune.api.JobViews;
import dev.selectune.api.Views;
import dev.selectune.config.ModelRegistry;
import dev.selectune.config.SelectuneProperties;
import dev.selectune.jobs.JobService;
import dev.selectune.training.HyperparameterSet;
import dev.selectune.training.TrainingConfig;
import dev.selectune.training.schedule.Schedule;
import jakarta.servlet.http.HttpServletRequest;
import org.springframework.stereotype.Controller;
import org.springframework.ui.Model;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RequestParam;
import tools.jackson.databind.json.JsonMapper;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The new-job form. Its fields are made from the one hyperparameter definition ({@link TrainingConfig#HYPERPARAMETERS}:
 * names, defaults, bounds, help), its upload checks from the service's upload limits; the page's script submits it
 * to {@code POST /v1/jobs} itself, so a refused job shows the API's own problems next to the fields. With
 * {@code ?from=<job>} (the job page's "retry") the form starts from that job's spec and images.
 */
@Controller
public class NewJobPage {
    /** Shown in the form's first part; every other option sits under "advanced", with its default. */
    static final List<String> MAIN = List.of("instance_prompt", "schedule", "steps", "resize_ratio",
            "validation_prompts");

    private final ConsoleSession session;
    private final ModelRegistry models;
    private final SelectuneProperties props;
    private final MemoryEstimates memory;
    private final JobService service;
    private final JobViews views;
    private final JsonMapper json;

    public NewJobPage(ConsoleSession session, ModelRegistry models, SelectuneProperties props, MemoryEstimates memory,
                      JobService service, JobViews views, JsonMapper json) {
        this.session = session;
        this.models = models;
        this.props = props;
        this.memory = memory;
        this.service = service;
        this.views = views;
        this.json = json;
    }

    /**
     * One form field of a hyperparameter.
     *
     * @param input    the HTML input: number, text, checkbox, select or textarea
     * @param wire     the JSON type the script sends: integer, number, boolean, string or list
     * @param value    the value the field starts with (a retried job's), or empty for the default
     */
    public record Field(String name, String description, String defaultText, String input, String wire, String min,
                        String max, String step, List<String> choices, String value, boolean checked) {
    }

    public record ScheduleChoice(String name, String summary) {
    }

    @GetMapping("/jobs/new")
    public String form(@RequestParam(required = false) String from, HttpServletRequest request, Model model) {
        String tenant = session.requireTenant(request);
        Map<String, Object> values = Map.of();
        String baseModel = null;
        String imageSetId = null;
        if (from != null && !from.isBlank()) {
            Views.JobView job = views.view(service.require(tenant, from));
            values = job.spec().hyperparameters().values();
            baseModel = job.baseModel();
            imageSetId = job.imageSetId();
            model.addAttribute("from", job.id());
        }
        HyperparameterSet<TrainingConfig> set = TrainingConfig.HYPERPARAMETERS;
        Map<String, Field> main = new LinkedHashMap<>();
        for (String name : MAIN) {
            main.put(name, field(set.get(name), values.get(name)));
        }
        Map<String, Object> given = values;
        List<Field> advanced = set.all().stream().filter(d -> !MAIN.contains(d.name()))
                .map(d -> field(d, given.get(d.name()))).toList();
        model.addAttribute("main", main);
        model.addAttribute("advanced", advanced);
        model.addAttribute("schedules", Arrays.stream(Schedule.values())
                .map(s -> new ScheduleChoice(s.wireName(), s.summary())).toList());
        model.addAttribute("models", models.all());
        model.addAttribute("baseModel", baseModel);
        model.addAttribute("imageSetId", imageSetId);
        SelectuneProperties.Uploads limits = props.uploads();
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("max_images", limits.maxImages());
        data.put("max_file_bytes", limits.maxFileBytes());
        data.put("max_request_bytes", limits.maxRequestBytes());
        data.put("min_side", limits.minSide());
        data.put("formats", List.of("image/png", "image/jpeg", "image/webp"));
        data.put("native_resolution", models.all().stream().collect(LinkedHashMap::new,
                (m, x) -> m.put(x.name(), x.info().nativeResolution()), Map::putAll));
        data.put("memory", memory.all());
        model.addAttribute("limits", limits);
        model.addAttribute("pageData", json.writeValueAsString(data));
        return "console/new-job";
    }

    private static Field field(HyperparameterSet.Definition d, Object given) {
        Object def = d.toWire(d.defaultValue());
        String defaultText = d.isList() ? "none" : def == null ? "none" : def.toString();
        Class<?> wire = d.wireType();
        String wireName = wire == Integer.class || wire == Long.class ? "integer" : wire == Double.class ? "number"
                : wire == Boolean.class ? "boolean" : d.isList() ? "list" : "string";
        String input = !d.choices().isEmpty() ? "select" : d.isBoolean() ? "checkbox" : d.isList() ? "textarea"
                : wireName.equals("string") ? "text" : "number";
        String min = d.range().map(r -> plain(r.min())).orElse(null);
        String max = d.range().map(r -> plain(r.max())).orElse(null);
        String step = wireName.equals("integer") ? "1" : "any";
        String value;
        if (given instanceof List<?> list) {
            value = String.join("\n", list.stream().map(Objects::toString).toList());
        } else {
            value = given == null ? "" : given.toString();
        }
        boolean checked = given == null ? Boolean.TRUE.equals(def) : Boolean.TRUE.equals(given);
        return new Field(d.name(), d.description(), defaultText, input, wireName, min, max, step, d.choices(), value,
                checked);
    }

    private static String plain(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? String.valueOf((long) v) : String.valueOf(v);
    }
}
