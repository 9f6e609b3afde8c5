package dev.selectune.api;

import dev.selectune.jobs.InvalidParameter;
import dev.selectune.jobs.Slice;

import java.util.function.Function;

/** The API's cursor paging: the {@code limit} parameter's range, and a {@link Slice} as a {@link Views.Page}. */
final class Paging {
    /** Jobs and events per page. */
    static final int MAX_LIMIT = 100;
    /** Metrics rows per page (one per training step, so more of them). */
    static final int MAX_METRICS_LIMIT = 10_000;

    private Paging() {
    }

    /** {@code limit} when it is in 1..max, else a 400 naming the parameter. */
    static int limit(int limit, int max) {
        if (limit < 1 || limit > max) {
            throw new InvalidParameter("limit", "must be between 1 and " + max + ", got " + limit);
        }
        return limit;
    }

    /** The page's rows as views; {@code next_after} is the last row's {@code cursor} when more follow. */
    static <R, V> Views.Page<V> page(Slice<R> slice, Function<R, V> view, Function<R, Object> cursor) {
        R last = slice.last();
        return Views.Page.of(slice.items().stream().map(view).toList(), slice.hasMore(),
                last == null ? null : String.valueOf(cursor.apply(last)));
    }
}
