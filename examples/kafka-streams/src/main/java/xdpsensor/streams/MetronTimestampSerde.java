package xdpsensor.streams;

import java.nio.ByteBuffer;
import org.apache.kafka.common.serialization.Serdes;

/** Serde of the Metron key ({@code --key metron}): an 8-byte big-endian integer. */
public final class MetronTimestampSerde extends Serdes.WrapperSerde<MetronTimestamp> {
    public MetronTimestampSerde() {
        super((topic, t) -> t == null ? null : ByteBuffer.allocate(Long.BYTES).putLong(t.value()).array(),
              (topic, bytes) -> {
                  if (bytes == null)
                      return null;
                  if (bytes.length != Long.BYTES)
                      throw new IllegalArgumentException("a Metron key has 8 bytes, not " + bytes.length);
                  return new MetronTimestamp(ByteBuffer.wrap(bytes).getLong());
              });
    }
}
