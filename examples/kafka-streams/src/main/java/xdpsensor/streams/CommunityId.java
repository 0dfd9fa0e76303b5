package xdpsensor.streams;

/** The key of {@code --key community-id}: a Community ID v1 string, "1:" + base64 SHA-1. */
public record CommunityId(String value) {
    @Override
    public String toString() {
        return value;
    }
}
