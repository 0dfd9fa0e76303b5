package xdpsensor.streams;

import java.nio.ByteBuffer;
import org.apache.kafka.common.serialization.Serdes;

/** Per-flow packets and bytes by direction: the aggregate's state. */
public final class FlowStats {
    long packetsAB, packetsBA, bytesAB, bytesBA;
    long count = -1; // packets from groupByKey().count(), joined in; -1: not yet

    public FlowStats add(Packet p) {
        if (p.dir() == 0) {
            packetsAB++;
            bytesAB += p.length();
        } else {
            packetsBA++;
            bytesBA += p.length();
        }
        return this;
    }

    /** A copy with the packet count of count() (the joiner must not change its inputs). */
    public FlowStats withCount(long n) {
        FlowStats s = new FlowStats();
        s.packetsAB = packetsAB;
        s.packetsBA = packetsBA;
        s.bytesAB = bytesAB;
        s.bytesBA = bytesBA;
        s.count = n;
        return s;
    }

    private static String quoted(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    /** The record written to the statistics topic. */
    public String toJson(String flow, String proto) {
        return "{\"flow\":" + quoted(flow) + ",\"proto\":" + quoted(proto)
                + ",\"packets\":" + count + ",\"bytes\":" + (bytesAB + bytesBA)
                + ",\"packets_ab\":" + packetsAB + ",\"packets_ba\":" + packetsBA
                + ",\"bytes_ab\":" + bytesAB + ",\"bytes_ba\":" + bytesBA + "}";
    }

    /** The state store's form: four big-endian longs (the count is not stored). */
    public static final class Serde extends Serdes.WrapperSerde<FlowStats> {
        public Serde() {
            super((topic, s) -> s == null ? null
                            : ByteBuffer.allocate(32).putLong(s.packetsAB).putLong(s.packetsBA)
                                    .putLong(s.bytesAB).putLong(s.bytesBA).array(),
                  (topic, b) -> {
                      if (b == null)
                          return null;
                      ByteBuffer bb = ByteBuffer.wrap(b);
                      FlowStats s = new FlowStats();
                      s.packetsAB = bb.getLong();
                      s.packetsBA = bb.getLong();
                      s.bytesAB = bb.getLong();
                      s.bytesBA = bb.getLong();
                      return s;
                  });
        }
    }
}
