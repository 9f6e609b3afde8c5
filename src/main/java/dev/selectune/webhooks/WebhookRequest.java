package dev.selectune.webhooks;

import dev.selectune.util.Problem;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * What a job or a generation asks for: {@code webhook} (the URL) and {@code webhook_events_filter} (wire names of
 * {@link WebhookEvent}; absent for all of them), as read from the request.
 */
public record WebhookRequest(String url, List<String> eventsFilter) {
    public static final String URL_FIELD = "webhook";
    public static final String FILTER_FIELD = "webhook_events_filter";

    /** This request with the filter spelled out, as stored and echoed (null filter: every event). */
    public WebhookRequest resolved() {
        return new WebhookRequest(url, eventsFilter == null
                ? WebhookEvent.ALL.stream().map(WebhookEvent::wireName).toList() : eventsFilter);
    }

    /** The events asked for; call only on a request without {@link #problems}. */
    public List<WebhookEvent> events() {
        return eventsFilter == null ? WebhookEvent.ALL
                : eventsFilter.stream().map(n -> WebhookEvent.fromWireName(n).orElseThrow()).toList();
    }

    /** What is wrong with the request, by field (the URL checked by {@code policy}). */
    List<Problem> problems(TargetPolicy policy) {
        List<Problem> problems = new ArrayList<>();
        if (url == null) {
            problems.add(new Problem(URL_FIELD, "required with " + FILTER_FIELD));
        } else {
            policy.problems(url).forEach(p -> problems.add(new Problem(URL_FIELD, p)));
        }
        if (eventsFilter != null) {
            if (eventsFilter.isEmpty()) {
                problems.add(new Problem(FILTER_FIELD, "at least one of start, progress, completed (or leave it out for all)"));
            }
            Set<String> seen = new HashSet<>();
            for (int i = 0; i < eventsFilter.size(); i++) {
                String name = eventsFilter.get(i);
                if (name == null || WebhookEvent.fromWireName(name).isEmpty()) {
                    problems.add(new Problem(FILTER_FIELD + "[" + i + "]", "one of start, progress, completed, got "
                            + (name == null ? "null" : "'" + name + "'")));
                } else if (!seen.add(name)) {
                    problems.add(new Problem(FILTER_FIELD + "[" + i + "]", "'" + name + "' is listed twice"));
                }
            }
        }
        return problems;
    }
}
