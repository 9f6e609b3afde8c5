package dev.selectune.training;

/** Measures one step's memory peak: reset before the step, read after it. */
public interface MemoryMeter {
    void reset();

    /** The high-water mark since the last reset, in bytes. */
    long peakBytes();

    /** e.g. {@code cpu()}. */
    String device();

    /** What the numbers include, for {@link MemorySummary#measuredAs()}. */
    String measuredAs();

    MemoryMeter NONE = new MemoryMeter() {
        @Override
        public void reset() {
        }

        @Override
        public long peakBytes() {
            return 0;
        }

        @Override
        public String device() {
            return "none";
        }

        @Override
        public String measuredAs() {
            return "not measured";
        }
    };
}
