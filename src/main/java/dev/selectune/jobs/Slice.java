package dev.selectune.jobs;

import org.springframework.data.domain.Limit;

import java.util.List;
import java.util.function.Function;

/**
 * One page of a cursor-paged list: the rows shown and whether more follow. The query is asked for one row more than
 * the page holds; that row, when it comes, only says there is a next page.
 */
public record Slice<T>(List<T> items, boolean hasMore) {
    public static <T> Slice<T> fetch(int limit, Function<Limit, List<T>> query) {
        List<T> rows = query.apply(Limit.of(limit + 1));
        boolean more = rows.size() > limit;
        return new Slice<>(more ? List.copyOf(rows.subList(0, limit)) : rows, more);
    }

    /** The last row shown, the cursor of the next page; null for an empty page. */
    public T last() {
        return items.isEmpty() ? null : items.get(items.size() - 1);
    }
}
