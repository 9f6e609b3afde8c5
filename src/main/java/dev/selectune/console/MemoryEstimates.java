package dev.selectune.console;

import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;

import java.util.List;

/**
 * What the service has measured: the largest BP and ZO peaks of the succeeded jobs on each base model, split by
 * whether the job backpropagated at full resolution (bp_high) or not, for the new-job form's estimate. Figures of
 * every tenant are pooled: they describe the machine, and no job or tenant can be told from them.
 */
@Component
public class MemoryEstimates {
    private final JdbcTemplate jdbc;

    public MemoryEstimates(JdbcTemplate jdbc) {
        this.jdbc = jdbc;
    }

    /**
     * @param fullResolutionBackprop the figures of bp_high jobs (the BP peak is then at the high resolution)
     * @param jobs                   how many succeeded jobs the figures come from
     */
    public record Measured(String baseModel, boolean fullResolutionBackprop, Long bpPeakBytes, Long zoPeakBytes,
                           int jobs, String device) {
    }

    public List<Measured> all() {
        return jdbc.query("""
                select base_model, (spec::jsonb ->> 'schedule') = 'bp_high' as bp_high,
                       max(bp_peak_bytes), max(zo_peak_bytes), count(*), max(memory_device)
                from jobs where status = 'succeeded' and (bp_peak_bytes is not null or zo_peak_bytes is not null)
                group by 1, 2 order by 1, 2""",
                (rs, i) -> new Measured(rs.getString(1), rs.getBoolean(2), (Long) rs.getObject(3),
                        (Long) rs.getObject(4), rs.getInt(5), rs.getString(6)));
    }
}
