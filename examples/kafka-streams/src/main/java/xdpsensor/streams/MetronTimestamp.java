package xdpsensor.streams;

import java.util.concurrent.TimeUnit;

/**
 * The key of {@code --key metron} (Apache Metron's FROM_KEY scheme): the capture
 * time as a count of {@code --ts-unit} (ns by default) since the epoch.
 */
public record MetronTimestamp(long value) {
    /** The same instant, cut down to its second (still in unit). */
    public MetronTimestamp second(TimeUnit unit) {
        long perSecond = unit.convert(1, TimeUnit.SECONDS);
        return new MetronTimestamp(value - Math.floorMod(value, perSecond));
    }

    @Override
    public String toString() {
        return Long.toString(value);
    }
}
