package xdpsensor.streams;

import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Branched;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.KGroupedStream;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.KTable;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.processor.api.FixedKeyProcessor;
import org.apache.kafka.streams.processor.api.FixedKeyProcessorContext;
import org.apache.kafka.streams.processor.api.FixedKeyRecord;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * Per-flow statistics from xdpsensor's packet topic: reads the captured packets
 * with the key scheme the sensor wrote (--key), splits them by IP protocol
 * (tcp, udp, icmp, other), counts packets per flow with groupByKey().count()
 * and bytes per flow and direction with aggregate(), joins the two and writes
 * one JSON record per flow update to the output topic, keyed like the input.
 *
 * usage: java -jar xdpsensor-streams.jar --bootstrap HOST:PORT --input TOPIC
 *            --output TOPIC [--key 5tuple|community-id|metron] [--ts-unit ns|us|ms]
 *            [--app-id ID] [--state-dir DIR]
 */
public final class FlowStatsApp {
    private FlowStatsApp() {}

    static final String[] BRANCHES = {"tcp", "udp", "icmp", "other"};

    static <K> Topology topology(KeyScheme<K> scheme, String input, String output) {
        StreamsBuilder b = new StreamsBuilder();
        KStream<K, Packet> packets = b.stream(input, Consumed.with(scheme.serde(), Serdes.ByteArray()))
                .processValues(() -> new FixedKeyProcessor<K, byte[], Packet>() {
                    private FixedKeyProcessorContext<K, Packet> ctx;

                    @Override
                    public void init(FixedKeyProcessorContext<K, Packet> context) {
                        ctx = context;
                    }

                    @Override
                    public void process(FixedKeyRecord<K, byte[]> r) { // headers: length, direction
                        ctx.forward(r.withValue(Packet.of(scheme.protocol(r.key(), r.value()), r.value(),
                                                          r.headers())));
                    }
                }, Named.as("packet-info"));

        Map<String, KStream<K, Packet>> byProto = packets.split(Named.as("proto-"))
                .branch((k, p) -> p.proto() == 6, Branched.as("tcp"))
                .branch((k, p) -> p.proto() == 17, Branched.as("udp"))
                .branch((k, p) -> p.proto() == 1 || p.proto() == 58, Branched.as("icmp"))
                .defaultBranch(Branched.as("other"));

        for (String proto : BRANCHES) {
            KStream<K, Packet> s = byProto.get("proto-" + proto);
            Grouped<K, Packet> g = Grouped.with(proto + "-flows", scheme.serde(), new Packet.Serde());
            KGroupedStream<K, Packet> flows = scheme.perFlow() ? s.groupByKey(g)
                    : s.groupBy((k, p) -> scheme.group(k), g);
            KTable<K, Long> count = flows.count(Named.as(proto + "-count"),
                    Materialized.<K, Long, KeyValueStore<Bytes, byte[]>>as(proto + "-packets")
                            .withKeySerde(scheme.serde()).withValueSerde(Serdes.Long()));
            KTable<K, FlowStats> bytes = flows.aggregate(FlowStats::new, (k, p, st) -> st.add(p),
                    Named.as(proto + "-aggregate"),
                    Materialized.<K, FlowStats, KeyValueStore<Bytes, byte[]>>as(proto + "-bytes")
                            .withKeySerde(scheme.serde()).withValueSerde(new FlowStats.Serde()));
            count.join(bytes, (n, st) -> st.withCount(n), Named.as(proto + "-join"))
                    .toStream(Named.as(proto + "-updates"))
                    .mapValues((k, st) -> st.toJson(k.toString(), proto), Named.as(proto + "-json"))
                    .to(output, Produced.with(scheme.serde(), Serdes.String()));
        }
        return b.build();
    }

    private static void usage(String problem) {
        System.err.println("xdpsensor-streams: " + problem);
        System.err.println("usage: java -jar xdpsensor-streams.jar --bootstrap HOST:PORT --input TOPIC"
                + " --output TOPIC [--key 5tuple|community-id|metron] [--ts-unit ns|us|ms]"
                + " [--app-id ID] [--state-dir DIR]");
        System.exit(2);
    }

    public static void main(String[] args) throws InterruptedException {
        Map<String, String> o = new java.util.HashMap<>(Map.of("--key", "5tuple", "--ts-unit", "ns",
                "--app-id", "xdpsensor-flow-stats"));
        for (int i = 0; i < args.length; i += 2) {
            if (!args[i].startsWith("--") || i + 1 == args.length)
                usage("options take a value: '" + args[i] + "'");
            o.put(args[i], args[i + 1]);
        }
        for (String need : new String[] {"--bootstrap", "--input", "--output"})
            if (!o.containsKey(need))
                usage("missing " + need);
        TimeUnit unit = switch (o.get("--ts-unit")) {
            case "ns" -> TimeUnit.NANOSECONDS;
            case "us" -> TimeUnit.MICROSECONDS;
            case "ms" -> TimeUnit.MILLISECONDS;
            default -> { usage("--ts-unit takes ns, us or ms"); yield null; }
        };
        Topology t = switch (o.get("--key")) {
            case "5tuple" -> topology(KeyScheme.fiveTuple(), o.get("--input"), o.get("--output"));
            case "community-id" -> topology(KeyScheme.communityId(), o.get("--input"), o.get("--output"));
            case "metron" -> topology(KeyScheme.metron(unit), o.get("--input"), o.get("--output"));
            default -> { usage("--key takes 5tuple, community-id or metron"); yield null; }
        };

        Properties p = new Properties();
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, o.get("--app-id"));
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, o.get("--bootstrap"));
        p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 1000); // statistics out within a second
        p.put(StreamsConfig.consumerPrefix("auto.offset.reset"), "earliest");
        if (o.containsKey("--state-dir"))
            p.put(StreamsConfig.STATE_DIR_CONFIG, o.get("--state-dir"));

        KafkaStreams streams = new KafkaStreams(t, p);
        CountDownLatch done = new CountDownLatch(1);
        streams.setStateListener((now, before) -> {
            System.err.println("xdpsensor-streams: " + before + " -> " + now);
            if (now == KafkaStreams.State.ERROR || now == KafkaStreams.State.NOT_RUNNING)
                done.countDown();
        });
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            streams.close();
            done.countDown();
        }));
        streams.start();
        done.await();
        streams.close();
        System.exit(streams.state() == KafkaStreams.State.ERROR ? 1 : 0);
    }
}
