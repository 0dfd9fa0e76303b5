package xdpsensor.streams;

import java.nio.charset.StandardCharsets;
import org.apache.kafka.common.serialization.Serdes;

/** Serde of the Community ID key ({@code --key community-id}): the string in UTF-8. */
public final class CommunityIdSerde extends Serdes.WrapperSerde<CommunityId> {
    public CommunityIdSerde() {
        super((topic, c) -> c == null ? null : c.value().getBytes(StandardCharsets.UTF_8),
              (topic, bytes) -> bytes == null ? null : new CommunityId(new String(bytes, StandardCharsets.UTF_8)));
    }
}
