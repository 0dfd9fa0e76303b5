package xdpsensor.streams;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * The 40-byte record key of {@code xdpsensor run --key 5tuple} (struct flow_key
 * of headers/xdpsensor.h), read with a big-endian {@link ByteBuffer}: endpoint A
 * (16 bytes, IPv4 as ::ffff:a.b.c.d), endpoint B, port A, port B (2 bytes each),
 * family (4 or 6), IP protocol, 2 bytes of zero. Both directions of a
 * conversation have the same key; A is the lower (address, port) pair. A
 * frame the sensor keys at L2 (ARP, LLDP, ...) has family 0, protocol 0, the
 * MAC addresses in the first 6 bytes of A and B, and in the ports the
 * EtherType (or each end's LLC SAP).
 */
public final class Net5Tuple {
    public static final int SIZE = 40;

    private final byte[] addrA;
    private final byte[] addrB;
    private final int portA;
    private final int portB;
    private final int family;
    private final int proto;

    public Net5Tuple(byte[] addrA, byte[] addrB, int portA, int portB, int family, int proto) {
        this.addrA = addrA.clone();
        this.addrB = addrB.clone();
        this.portA = portA;
        this.portB = portB;
        this.family = family;
        this.proto = proto;
    }

    public static Net5Tuple fromBytes(byte[] key) {
        if (key == null || key.length != SIZE)
            throw new IllegalArgumentException("a 5-tuple key has " + SIZE + " bytes, not "
                    + (key == null ? "none" : key.length));
        ByteBuffer b = ByteBuffer.wrap(key); // big-endian, as the sensor writes it
        byte[] a = new byte[16];
        byte[] z = new byte[16];
        b.get(a).get(z);
        int pa = Short.toUnsignedInt(b.getShort());
        int pb = Short.toUnsignedInt(b.getShort());
        return new Net5Tuple(a, z, pa, pb, Byte.toUnsignedInt(b.get()), Byte.toUnsignedInt(b.get()));
    }

    public byte[] toBytes() {
        return ByteBuffer.allocate(SIZE).put(addrA).put(addrB).putShort((short) portA)
                .putShort((short) portB).put((byte) family).put((byte) proto).array();
    }

    public int protocol() {
        return proto;
    }

    public int family() {
        return family;
    }

    private String endpoint(byte[] addr, int port) {
        if (family == 0)
            return String.format("%02x:%02x:%02x:%02x:%02x:%02x/0x%04x", addr[0], addr[1], addr[2],
                    addr[3], addr[4], addr[5], port);
        try {
            InetAddress ia = InetAddress.getByAddress(family == 4 ? Arrays.copyOfRange(addr, 12, 16) : addr);
            String host = ia.getHostAddress();
            return family == 4 ? host + ":" + port : "[" + host + "]:" + port;
        } catch (UnknownHostException e) { // only for a wrong length, which cannot happen
            throw new IllegalStateException(e);
        }
    }

    /** "192.0.2.1:4000 198.51.100.1:53": endpoint A, then B (at L2 "MAC/0x0806 MAC/0x0806"). */
    @Override
    public String toString() {
        return endpoint(addrA, portA) + " " + endpoint(addrB, portB);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Net5Tuple t && Arrays.equals(addrA, t.addrA) && Arrays.equals(addrB, t.addrB)
                && portA == t.portA && portB == t.portB && family == t.family && proto == t.proto;
    }

    @Override
    public int hashCode() {
        return 31 * (31 * Arrays.hashCode(addrA) + Arrays.hashCode(addrB))
                + ((portA << 16 | portB) ^ (family << 8 | proto));
    }
}
