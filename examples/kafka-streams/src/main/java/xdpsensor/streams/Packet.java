package xdpsensor.streams;

import java.nio.ByteBuffer;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.serialization.Serdes;

/**
 * What the statistics need of one captured packet: its IP protocol, its length
 * on the wire (else the record's length: --snaplen may have cut the frame) and
 * its direction relative to the 5-tuple key (0 = sent by endpoint A, 1 = by B).
 * Both from the header xs.meta (--headers compact, the default: byte 1 the
 * direction, bytes 4-7 the length, big-endian; the README's "Kafka records"),
 * else from xs.orig_len and xs.dir (--headers all).
 */
public record Packet(int proto, long length, int dir) {
    public static Packet of(int proto, byte[] frame, Headers headers) {
        Header meta = headers.lastHeader("xs.meta");
        if (meta != null && meta.value().length >= 16 && meta.value()[0] == 1) {
            ByteBuffer m = ByteBuffer.wrap(meta.value());
            return new Packet(proto, Integer.toUnsignedLong(m.getInt(4)), m.get(1) & 1);
        }
        Header len = headers.lastHeader("xs.orig_len");
        Header dir = headers.lastHeader("xs.dir");
        long length = len != null && len.value().length == 4
                ? Integer.toUnsignedLong(ByteBuffer.wrap(len.value()).getInt()) : frame.length;
        return new Packet(proto, length, dir != null && dir.value().length == 1 ? dir.value()[0] & 1 : 0);
    }

    /** For the repartition topic of --key metron (grouped by second). */
    public static final class Serde extends Serdes.WrapperSerde<Packet> {
        public Serde() {
            super((topic, p) -> p == null ? null
                            : ByteBuffer.allocate(13).putInt(p.proto()).putLong(p.length()).put((byte) p.dir()).array(),
                  (topic, b) -> {
                      if (b == null)
                          return null;
                      ByteBuffer bb = ByteBuffer.wrap(b);
                      return new Packet(bb.getInt(), bb.getLong(), bb.get());
                  });
        }
    }
}
