package xdpsensor.streams;

import java.util.concurrent.TimeUnit;
import org.apache.kafka.common.serialization.Serde;

/** What the topology needs of a record key scheme of xdpsensor. */
interface KeyScheme<K> {
    Serde<K> serde();

    /** The IP protocol of a packet with this key and frame. */
    int protocol(K key, byte[] frame);

    /** The key statistics are kept by: the flow, or (Metron) the second. */
    K group(K key);

    /** True if group() is the key itself: no repartitioning. */
    boolean perFlow();

    static KeyScheme<Net5Tuple> fiveTuple() {
        return new KeyScheme<>() {
            public Serde<Net5Tuple> serde() { return new Net5TupleSerde(); }
            public int protocol(Net5Tuple k, byte[] frame) { return k.protocol(); }
            public Net5Tuple group(Net5Tuple k) { return k; }
            public boolean perFlow() { return true; }
        };
    }

    static KeyScheme<CommunityId> communityId() {
        return new KeyScheme<>() {
            public Serde<CommunityId> serde() { return new CommunityIdSerde(); }
            public int protocol(CommunityId k, byte[] frame) { return Frames.ipProtocol(frame); }
            public CommunityId group(CommunityId k) { return k; }
            public boolean perFlow() { return true; }
        };
    }

    /** A Metron key is a capture time, not a flow: statistics per second. */
    static KeyScheme<MetronTimestamp> metron(TimeUnit unit) {
        return new KeyScheme<>() {
            public Serde<MetronTimestamp> serde() { return new MetronTimestampSerde(); }
            public int protocol(MetronTimestamp k, byte[] frame) { return Frames.ipProtocol(frame); }
            public MetronTimestamp group(MetronTimestamp k) { return k.second(unit); }
            public boolean perFlow() { return false; }
        };
    }
}
