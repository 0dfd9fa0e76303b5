package xdpsensor.streams;

/**
 * The key of {@code --key community-id}: a Community ID v1 string, "1:" + base64 SHA-1
 * ("l2:" + base64 SHA-1 for a frame the sensor keys at L2).
 */
public record CommunityId(String value) {
    @Override
    public String toString() {
        return value;
    }
}
