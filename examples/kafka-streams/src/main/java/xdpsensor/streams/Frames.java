package xdpsensor.streams;

/**
 * The IP protocol of a captured Ethernet frame, for keys that do not carry it
 * (Community ID, Metron): VLAN and QinQ tags, IPv4, IPv6 and its extension
 * headers, as far as the frame goes. -1 when it cannot tell.
 */
final class Frames {
    private Frames() {}

    private static int u8(byte[] f, int off) {
        return off < f.length ? f[off] & 0xff : -1;
    }

    private static int u16(byte[] f, int off) {
        return off + 1 < f.length ? (f[off] & 0xff) << 8 | (f[off + 1] & 0xff) : -1;
    }

    static int ipProtocol(byte[] f) {
        int off = 12;
        int type = u16(f, off);
        for (int tags = 0; (type == 0x8100 || type == 0x88a8) && tags < 2; tags++) {
            off += 4;
            type = u16(f, off);
        }
        off += 2;
        if (type == 0x0800)
            return u8(f, off + 9);
        if (type != 0x86dd)
            return -1;
        int nh = u8(f, off + 6);
        off += 40;
        for (int ext = 0; ext < 8; ext++) {
            switch (nh) {
            case 0, 43, 60 -> { // hop-by-hop, routing, destination options
                int len = u8(f, off + 1);
                if (len < 0)
                    return -1;
                nh = u8(f, off);
                off += (len + 1) * 8;
            }
            case 44 -> { // fragment
                nh = u8(f, off);
                off += 8;
            }
            default -> {
                return nh;
            }
            }
        }
        return -1;
    }
}
