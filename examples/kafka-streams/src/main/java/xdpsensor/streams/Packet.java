package xdpsensor.streams;

import java.nio.ByteBuffer;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.serialization.Serdes;

/**
 * What the statistics need of one captured packet: its IP protocol, its length
 * on the wire (header xs.orig_len, else the record's length: --snaplen may have
 * cut the frame) and its direction relative to the 5-tuple key (header xs.dir:
 * 0 = sent by endpoint A, 1 = by B).
 */
public record Packet(int proto, long length, int dir) {
    public static Packet of(int proto, byte[] frame, Headers headers) {
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
