package xdpsensor.streams;

import org.apache.kafka.common.serialization.Serdes;

/** Serde of the 40-byte 5-tuple key ({@code --key 5tuple}, the default). */
public final class Net5TupleSerde extends Serdes.WrapperSerde<Net5Tuple> {
    public Net5TupleSerde() {
        super((topic, t) -> t == null ? null : t.toBytes(),
              (topic, bytes) -> bytes == null ? null : Net5Tuple.fromBytes(bytes));
    }
}
