#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""
Test traffic for the end-to-end suites: sends Ethernet frames out of one
interface with an AF_PACKET socket (run it inside the network namespace that
holds the interface: `ip netns exec NS traffic.py send ...`).

  traffic.py send -i IFACE [--pcap FILE]... [--generate] [--rate PPS]
                  [--long-lived N:FRAMES] [--many-flows N]
                  --manifest OUT.json [--sent-pcap OUT.pcap]
  traffic.py generate [--pcap FILE]... --sent-pcap OUT.pcap [--manifest OUT.json]
                  (builds the generated frames, and those of --pcap; sends nothing)

Frames come from two sources, sent in this order:
  * --pcap: the frames of Ethernet captures, replayed as captured (caplen
    bytes); frames longer than MTU + 14 cannot cross the veth and are
    skipped (listed in the manifest and on stderr);
  * --generate: conversations built here, each with frames in BOTH
    directions and valid checksums: TCP (handshake, data both ways, FIN),
    UDP request/response, ICMP and ICMPv6 echo, IPv6 TCP and UDP, VLAN and
    QinQ, IPv6 extension headers, IPv4/IPv6 fragments, SCTP, GRE and VXLAN
    tunnels (keyed by the flow inside), ICMPv6 node information, UDP
    between ports 0; plus frames the sensor keys at L2 (ARP both ways,
    LLDP, 802.3/LLC STP, three VLAN tags, a truncated TCP header, a bad
    IPv4 version); with --jumbo also a TCP conversation of 9000-byte frames
    (MTU 9000).

The manifest (JSON) lists every frame sent, in order, with its bytes (hex),
its origin, its send time (CLOCK_REALTIME ns), and for generated frames the
conversation, the sender (client/server), whether the sensor should capture
it and, for a frame it keys at L2, the l2_* reason. --sent-pcap writes the same frames as a pcap, for
`xdpsensor classify`. Python 3 standard library only.
"""
import argparse
import errno
import json
import os
import socket
import struct
import sys
import time

# ------------------------------------------------------------------ pcap files


def read_pcap(path):
    """Yields (caplen_bytes, orig_len, ts_ns) of a classic pcap file."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        raise ValueError("%s: too short for a pcap header" % path)
    magic = data[:4]
    table = {
        b"\xd4\xc3\xb2\xa1": ("<", 1000), b"\xa1\xb2\xc3\xd4": (">", 1000),
        b"\x4d\x3c\xb2\xa1": ("<", 1), b"\xa1\xb2\x3c\x4d": (">", 1),
    }
    if magic not in table:
        raise ValueError("%s: not a classic pcap file (pcapng?)" % path)
    endian, frac_ns = table[magic]
    linktype = struct.unpack(endian + "I", data[20:24])[0] & 0x0fffffff
    if linktype != 1:
        raise ValueError("%s: link type %d, not Ethernet" % (path, linktype))
    off = 24
    while off + 16 <= len(data):
        sec, frac, caplen, origlen = struct.unpack(endian + "IIII", data[off:off + 16])
        off += 16
        if off + caplen > len(data):
            break  # truncated file: keep what was complete
        yield data[off:off + caplen], origlen, sec * 1000000000 + frac * frac_ns
        off += caplen


def write_pcap(path, frames):
    """Writes frames [(bytes, ts_ns)] as a nanosecond pcap (link type 1)."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b23c4d, 2, 4, 0, 0, 262144, 1))
        for data, ts in frames:
            f.write(struct.pack("<IIII", ts // 1000000000, ts % 1000000000,
                                len(data), len(data)))
            f.write(data)


# ------------------------------------------------------------------ checksums


def csum16(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def crc32c(data):
    """CRC-32C (Castagnoli), as SCTP uses it."""
    crc = 0xffffffff
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82f63b78 if crc & 1 else 0)
    return crc ^ 0xffffffff


# ------------------------------------------------------------------ builders


def ip_bytes(addr):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    return socket.inet_pton(fam, addr)


def pseudo_header(src, dst, proto, length):
    s, d = ip_bytes(src), ip_bytes(dst)
    if len(s) == 4:
        return s + d + struct.pack("!BBH", 0, proto, length)
    return s + d + struct.pack("!IxxxB", length, proto)


def l4_checksummed(src, dst, proto, segment, csum_off):
    """Fills the 16-bit Internet checksum of a TCP/UDP/ICMPv6 segment."""
    c = csum16(pseudo_header(src, dst, proto, len(segment)) + segment)
    if proto == 17 and c == 0:
        c = 0xffff
    return segment[:csum_off] + struct.pack("!H", c) + segment[csum_off + 2:]


def tcp(src, dst, sport, dport, seq, ack, flags, payload=b""):
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 64240, 0, 0)
    return l4_checksummed(src, dst, 6, hdr + payload, 16)


def udp(src, dst, sport, dport, payload):
    seg = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    return l4_checksummed(src, dst, 17, seg, 6)


def icmp4(itype, code, rest):
    msg = struct.pack("!BBH", itype, code, 0) + rest
    return msg[:2] + struct.pack("!H", csum16(msg)) + msg[4:]


def icmp6(src, dst, itype, code, rest):
    return l4_checksummed(src, dst, 58, struct.pack("!BBH", itype, code, 0) + rest, 2)


def sctp(sport, dport, vtag, chunks):
    pkt = struct.pack("!HHII", sport, dport, vtag, 0) + chunks
    return pkt[:8] + struct.pack("<I", crc32c(pkt)) + pkt[12:]


def sctp_chunk(ctype, flags, value):
    chunk = struct.pack("!BBH", ctype, flags, 4 + len(value)) + value
    return chunk + b"\0" * (-len(chunk) % 4)


def ipv4(src, dst, proto, payload, ident=1, frag_off=0, mf=False, version=4):
    flags = (0x2000 if mf else 0) | frag_off
    hdr = struct.pack("!BBHHHBBH4s4s", version << 4 | 5, 0, 20 + len(payload), ident,
                      flags, 64, proto, 0, ip_bytes(src), ip_bytes(dst))
    return hdr[:10] + struct.pack("!H", csum16(hdr)) + hdr[12:] + payload


def ipv6(src, dst, nh, payload, flow=0):
    return struct.pack("!IHBB16s16s", 6 << 28 | flow, len(payload), nh, 64,
                       ip_bytes(src), ip_bytes(dst)) + payload


def ipv6_opts(nh, length_units=0):
    """A hop-by-hop or destination options header of 8*(1+units) bytes: PadN."""
    size = 8 * (1 + length_units)
    return struct.pack("!BBBB", nh, length_units, 1, size - 4) + b"\0" * (size - 4)


def ipv6_frag(nh, offset_units, more, ident):
    return struct.pack("!BBHI", nh, 0, offset_units << 3 | (1 if more else 0), ident)


def ether_tagged(dst, src, ethertype, payload, tags):
    """Ethernet with VLAN tags: TPID1 TCI1 [TPID2 TCI2 ...] ethertype payload."""
    out = bytes.fromhex(dst.replace(":", "")) + bytes.fromhex(src.replace(":", ""))
    for tpid, vid in tags:
        out += struct.pack("!HH", tpid, vid & 0x0fff)
    return out + struct.pack("!H", ethertype) + payload


# ------------------------------------------------------------------ conversations

MAC_CLIENT = "02:e2:e0:00:00:01"
MAC_SERVER = "02:e2:e0:00:00:02"


class Conversation:
    """Frames of one conversation, both directions; all share one flow key."""

    def __init__(self, name, client, server, tags=()):
        self.name, self.client, self.server, self.tags = name, client, server, tags
        self.frames = []  # (sender, bytes)

    def add(self, sender, l3):
        self.frames.append((sender, self.frame(sender, l3), None))

    def frame(self, sender, l3):
        v6 = ":" in self.client
        src_mac, dst_mac = ((MAC_CLIENT, MAC_SERVER) if sender == "client"
                            else (MAC_SERVER, MAC_CLIENT))
        return ether_tagged(dst_mac, src_mac, 0x86DD if v6 else 0x0800, l3, self.tags)

    def ends(self, sender):
        return ((self.client, self.server) if sender == "client"
                else (self.server, self.client))


def tcp_session(name, client, server, cport, sport, tags=(), data=(120, 1400)):
    """Handshake, data each way with its ACK, FIN both ways, last ACK."""
    c = Conversation(name, client, server, tags)
    v6 = ":" in client
    iseq, sseq = 1000, 5000

    def seg(sender, seq, ack, flags, payload=b""):
        src, dst = c.ends(sender)
        sp, dp = (cport, sport) if sender == "client" else (sport, cport)
        t = tcp(src, dst, sp, dp, seq, ack, flags, payload)
        c.add(sender, ipv6(src, dst, 6, t) if v6 else ipv4(src, dst, 6, t, ident=len(c.frames) + 1))

    up, down = b"q" * data[0], b"r" * data[1]
    seg("client", iseq, 0, 0x02)                         # SYN
    seg("server", sseq, iseq + 1, 0x12)                  # SYN-ACK
    seg("client", iseq + 1, sseq + 1, 0x10)              # ACK
    seg("client", iseq + 1, sseq + 1, 0x18, up)          # PSH-ACK data
    seg("server", sseq + 1, iseq + 1 + len(up), 0x10)    # ACK
    seg("server", sseq + 1, iseq + 1 + len(up), 0x18, down)
    seg("client", iseq + 1 + len(up), sseq + 1 + len(down), 0x10)
    seg("client", iseq + 1 + len(up), sseq + 1 + len(down), 0x11)      # FIN-ACK
    seg("server", sseq + 1 + len(down), iseq + 2 + len(up), 0x11)      # FIN-ACK
    seg("client", iseq + 2 + len(up), sseq + 2 + len(down), 0x10)      # ACK
    return c


def udp_exchange(name, client, server, cport, sport, tags=(), rounds=2, ext=None):
    """Request/response rounds; ext: IPv6 extension headers before UDP."""
    c = Conversation(name, client, server, tags)
    v6 = ":" in client
    for r in range(rounds):
        for sender, payload in (("client", b"request %d" % r), ("server", b"response %d " % r * 8)):
            src, dst = c.ends(sender)
            sp, dp = (cport, sport) if sender == "client" else (sport, cport)
            u = udp(src, dst, sp, dp, payload)
            if v6 and ext == "hop+dst":
                l3 = ipv6(src, dst, 0, ipv6_opts(60, 1) + ipv6_opts(17, 0) + u)
            elif v6:
                l3 = ipv6(src, dst, 17, u)
            else:
                l3 = ipv4(src, dst, 17, u, ident=100 + len(c.frames))
            c.add(sender, l3)
    return c


def icmp_echo(name, client, server, count=3):
    c = Conversation(name, client, server)
    v6 = ":" in client
    for seq in range(1, count + 1):
        for sender, t4, t6 in (("client", 8, 128), ("server", 0, 129)):
            src, dst = c.ends(sender)
            rest = struct.pack("!HH", 0x4242, seq) + bytes(range(48))
            if v6:
                c.add(sender, ipv6(src, dst, 58, icmp6(src, dst, t6, 0, rest)))
            else:
                c.add(sender, ipv4(src, dst, 1, icmp4(t4, 0, rest), ident=200 + seq))
    return c


def icmp6_node_info(name, client, server):
    """ICMPv6 node information query (139) and reply (140): a request/reply
    pair in Community ID's table, so both share one key."""
    c = Conversation(name, client, server)
    nonce = b"\x11" * 8
    query = struct.pack("!HH", 4, 0) + nonce + ip_bytes(server)  # its IPv4 addresses?
    reply = struct.pack("!HH", 4, 0) + nonce + struct.pack("!I", 60) + ip_bytes("192.0.2.30")
    for sender, itype, rest in (("client", 139, query), ("server", 140, reply)):
        src, dst = c.ends(sender)
        c.add(sender, ipv6(src, dst, 58, icmp6(src, dst, itype, 0, rest)))
    return c


def sctp_association(name, client, server, cport, sport):
    c = Conversation(name, client, server)
    init = struct.pack("!IIHHI", 0x01020304, 65535, 10, 10, 1)
    for sender, vtag, chunk in (("client", 0, sctp_chunk(1, 0, init)),
                                ("server", 0x01020304, sctp_chunk(2, 0, init)),
                                ("client", 0x01020304, sctp_chunk(10, 0, b"cookie!!")),
                                ("server", 0x01020304, sctp_chunk(11, 0, b""))):
        src, dst = c.ends(sender)
        sp, dp = (cport, sport) if sender == "client" else (sport, cport)
        c.add(sender, ipv4(src, dst, 132, sctp(sp, dp, vtag, chunk), ident=300 + len(c.frames)))
    return c


def gre_tunnel(name, client, server):
    """GRE (proto 47) between client and server carrying a UDP exchange
    between two inner hosts, each way: keyed by the inner flow."""
    c = Conversation(name, client, server)
    hosts = ("10.200.0.1", "10.200.0.2")
    for sender in ("client", "server", "client"):
        src, dst = c.ends(sender)
        isrc, idst = hosts if sender == "client" else hosts[::-1]
        sp, dp = (1, 2) if sender == "client" else (2, 1)
        inner = ipv4(isrc, idst, 17, udp(isrc, idst, sp, dp, b"in"))
        c.add(sender, ipv4(src, dst, 47, struct.pack("!HH", 0, 0x0800) + inner,
                           ident=400 + len(c.frames)))
    return c


def vxlan_tunnel(name, vtep_client, vtep_server, inner):
    """The frames of the conversation inner, each in VXLAN (UDP 4789, VNI
    42) from its sender's VTEP; the UDP source port varies, as a VTEP's
    flow hash makes it. Keyed by the inner flow."""
    c = Conversation(name, vtep_client, vtep_server)
    for i, (sender, frame, _) in enumerate(inner.frames):
        src, dst = c.ends(sender)
        vx = struct.pack("!II", 0x08000000, 42 << 8) + frame
        c.add(sender, ipv4(src, dst, 17, udp(src, dst, 49152 + 7 * i, 4789, vx),
                           ident=500 + i))
    return c


def fragments_v4(client, server, cport, sport):
    """A UDP datagram in two fragments each way. The first fragments carry
    the ports, the second do not: two conversations (two keys)."""
    first = Conversation("udp4-frag-first", client, server)
    rest = Conversation("udp4-frag-rest", client, server)
    for sender in ("client", "server"):
        src, dst = first.ends(sender)
        sp, dp = (cport, sport) if sender == "client" else (sport, cport)
        dgram = udp(src, dst, sp, dp, b"F" * 1000)
        ident = 0x5000 + (sender == "server")
        first.add(sender, ipv4(src, dst, 17, dgram[:512], ident=ident, mf=True))
        rest.add(sender, ipv4(src, dst, 17, dgram[512:], ident=ident, frag_off=64))
    return [first, rest]


def fragments_v6(client, server, cport, sport):
    first = Conversation("udp6-frag-first", client, server)
    rest = Conversation("udp6-frag-rest", client, server)
    for sender in ("client", "server"):
        src, dst = first.ends(sender)
        sp, dp = (cport, sport) if sender == "client" else (sport, cport)
        dgram = udp(src, dst, sp, dp, b"G" * 1000)
        ident = 0x6000 + (sender == "server")
        first.add(sender, ipv6(src, dst, 44, ipv6_frag(17, 0, True, ident) + dgram[:512]))
        rest.add(sender, ipv6(src, dst, 44, ipv6_frag(17, 64, False, ident) + dgram[512:]))
    return [first, rest]


def l2_frames():
    """Conversations the sensor keys at L2 (not IP, or an IP header it
    cannot read): captured like the rest, with their reason. ARP both
    ways (a unicast refresh and its reply: one key); one frame each of the
    others."""
    ends = ("192.0.2.10", "198.51.100.20")
    lldp_mc, stp_mc = "01:80:c2:00:00:0e", "01:80:c2:00:00:00"

    def arp_op(op, sha, spa, tha, tpa):
        return struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, op, bytes.fromhex(sha),
                           ip_bytes(spa), bytes.fromhex(tha), ip_bytes(tpa)) + b"\0" * 18

    arp = Conversation("l2-arp", *ends)
    arp.frames = [
        ("client", ether_tagged(MAC_SERVER, MAC_CLIENT, 0x0806,
                                arp_op(1, "02e2e0000001", "192.0.2.10", "000000000000",
                                       "192.0.2.99"), ()), "l2_not_ip"),
        ("server", ether_tagged(MAC_CLIENT, MAC_SERVER, 0x0806,
                                arp_op(2, "02e2e0000002", "192.0.2.99", "02e2e0000001",
                                       "192.0.2.10"), ()), "l2_not_ip"),
    ]
    lldp = bytes.fromhex("0207" "04" "02e2e0000001" "0403" "05" "7031" "0602" "0078" "0000")
    stp = bytes.fromhex("424203" "0000" "00" "00" + "00" * 32)  # LLC + config BPDU
    udp_l3 = ipv4("192.0.2.10", "198.51.100.20", 17,
                  udp("192.0.2.10", "198.51.100.20", 1, 2, b"three tags"))
    short_tcp = ipv4("192.0.2.10", "198.51.100.20", 6, b"\x9c\x40\x00\x50" + b"\0" * 6)
    bad_v4 = ipv4("192.0.2.10", "198.51.100.20", 17,
                  udp("192.0.2.10", "198.51.100.20", 1, 2, b"v5"), version=5)
    singles = [
        ("l2-lldp", ether_tagged(lldp_mc, MAC_CLIENT, 0x88CC, lldp, ()), "l2_not_ip"),
        ("l2-llc-stp", bytes.fromhex((stp_mc + MAC_CLIENT).replace(":", ""))
         + struct.pack("!H", len(stp)) + stp, "l2_not_ip"),
        ("l2-3-tags", ether_tagged(MAC_SERVER, MAC_CLIENT, 0x0800, udp_l3,
                                   ((0x88A8, 10), (0x8100, 20), (0x8100, 30))), "l2_vlan_depth"),
        ("l2-tcp-cut", ether_tagged(MAC_SERVER, MAC_CLIENT, 0x0800, short_tcp, ()),
         "l2_truncated"),
        ("l2-ipv4-version-5", ether_tagged(MAC_SERVER, MAC_CLIENT, 0x0800, bad_v4, ()),
         "l2_bad_ipv4"),
    ]
    convs = [arp]
    for name, frame, reason in singles:
        c = Conversation(name, *ends)
        c.frames = [("client", frame, reason)]
        convs.append(c)
    return convs


def conversations(jumbo=False):
    """Every generated conversation, in sending order (deterministic)."""
    convs = [
        tcp_session("tcp4", "192.0.2.10", "198.51.100.20", 40000, 80),
        # the client has the higher address: its packets are B -> A
        tcp_session("tcp4-high-client", "203.0.113.200", "192.0.2.5", 50000, 443),
        udp_exchange("udp4", "192.0.2.10", "198.51.100.53", 53000, 7000),
        icmp_echo("icmp4-echo", "192.0.2.10", "198.51.100.1"),
        tcp_session("tcp6", "2001:db8::10", "2001:db8::20", 40001, 8080),
        udp_exchange("udp6", "2001:db8:1::99", "2001:db8::1", 40010, 7001),
        icmp_echo("icmp6-echo", "2001:db8::10", "2001:db8::20"),
        icmp6_node_info("icmp6-node-info", "2001:db8::10", "2001:db8::30"),
        # port 0 is reserved but seen (scans, floods): still a transport header
        udp_exchange("udp4-port-zero", "192.0.2.10", "198.51.100.95", 0, 0, rounds=1),
        # same address: the ports decide the order
        udp_exchange("udp4-same-addr", "192.0.2.77", "192.0.2.77", 6000, 80),
        udp_exchange("udp4-vlan", "192.0.2.10", "198.51.100.60", 53001, 7002,
                     tags=((0x8100, 100),)),
        tcp_session("tcp4-qinq", "192.0.2.11", "198.51.100.61", 40002, 22,
                    tags=((0x88A8, 200), (0x8100, 2001)), data=(60, 600)),
        udp_exchange("udp6-ext-hdrs", "2001:db8::10", "2001:db8::40", 40003, 7003,
                     ext="hop+dst"),
        sctp_association("sctp4", "192.0.2.10", "198.51.100.70", 5000, 38412),
        gre_tunnel("gre4", "198.51.100.80", "192.0.2.12"),
        vxlan_tunnel("vxlan4", "198.51.100.81", "192.0.2.13",
                     udp_exchange("inner", "10.201.0.1", "10.201.0.2", 5353, 53)),
    ]
    if jumbo:  # 9014-byte frames: a TCP session at MTU 9000
        convs.append(tcp_session("tcp4-jumbo", "192.0.2.14", "198.51.100.82", 40100, 9000,
                                 data=(8960, 8960)))
    convs += fragments_v4("192.0.2.10", "198.51.100.90", 53002, 7004)
    convs += fragments_v6("2001:db8::10", "2001:db8::50", 53003, 7005)
    convs += l2_frames()
    return convs


def long_lived(n, frames_each):
    """n conversations of frames_each frames (client and server in turn),
    interleaved so that each lasts as long as the whole sending: UDP and
    TCP over IPv4, UDP over IPv6."""
    convs = []
    for i in range(n):
        kind = ("udp4", "tcp4", "udp6")[i % 3]
        c = Conversation("long-%s-%d" % (kind, i),
                         "2001:db8:5::%x" % (i + 1) if kind == "udp6" else "192.0.2.%d" % (100 + i),
                         "2001:db8:6::1" if kind == "udp6" else "198.51.100.%d" % (100 + i))
        for f in range(frames_each):
            sender = ("client", "server")[f % 2]
            src, dst = c.ends(sender)
            sp, dp = (41000 + i, 5001) if sender == "client" else (5001, 41000 + i)
            payload = b"x" * (20 + 37 * f % 400)
            if kind == "tcp4":
                l3 = ipv4(src, dst, 6, tcp(src, dst, sp, dp, 1000 + f, 5000 + f, 0x18, payload),
                          ident=f + 1)
            elif kind == "udp4":
                l3 = ipv4(src, dst, 17, udp(src, dst, sp, dp, payload), ident=f + 1)
            else:
                l3 = ipv6(src, dst, 17, udp(src, dst, sp, dp, payload))
            c.add(sender, l3)
        convs.append(c)
    out = []
    for f in range(frames_each):
        for c in convs:
            out.append((c.name,) + c.frames[f])
    return out


def many_flows(n):
    """n new flows of one UDP frame each (a scan, a flood of new conversations)."""
    out = []
    for i in range(n):
        c = Conversation("many-%d" % i, "198.18.%d.%d" % (i // 250, i % 250 + 1), "198.19.0.1")
        c.add("client", ipv4(c.client, c.server, 17,
                             udp(c.client, c.server, 40000 + i % 20000, 9, b"new flow"), ident=1))
        out.append((c.name,) + c.frames[0])
    return out


# ------------------------------------------------------------------ sending


def stream(flows, count):
    """count UDP frames spread round-robin over `flows` conversations (both
    directions, alternately), each numbered in its payload: for outages,
    where every frame must arrive once, in order per key. Every fourth
    conversation goes in GRE, so the tunnel's key (xs.outer_key) is carried
    too, through the spool as well."""
    out = []
    vteps = ("203.0.113.1", "203.0.113.2")
    for i in range(count):
        f, sender = i % flows, ("client", "server")[(i // flows) % 2]
        client, server = "192.0.2.%d" % (100 + f), "198.51.100.%d" % (100 + f)
        src, dst = (client, server) if sender == "client" else (server, client)
        sp, dp = (40000 + f, 9000) if sender == "client" else (9000, 40000 + f)
        payload = struct.pack("!II", f, i) + b"s" * 18
        l3 = ipv4(src, dst, 17, udp(src, dst, sp, dp, payload), ident=i & 0xffff)
        if f % 4 == 3:
            osrc, odst = vteps if sender == "client" else vteps[::-1]
            l3 = ipv4(osrc, odst, 47, struct.pack("!HH", 0, 0x0800) + l3, ident=i & 0xffff)
        macs = (MAC_CLIENT, MAC_SERVER) if sender == "client" else (MAC_SERVER, MAC_CLIENT)
        data = ether_tagged(macs[1], macs[0], 0x0800, l3, ())
        out.append((data, {"origin": "gen", "conv": "stream%d" % f, "sender": sender,
                           "capture": True, "reason": None}))
    return out


def ethernet_pcaps(directory):
    """The classic pcap files of a directory whose link type is Ethernet
    (sorted), and the names of the others."""
    ok, other = [], []
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name)
        if not name.endswith(".pcap"):
            continue
        try:
            next(read_pcap(path), None)
            ok.append(path)
        except (ValueError, OSError):
            other.append(name)
    return ok, other


def frames_to_send(pcaps, generate, max_frame, jumbo=False, extra=(), stream_spec=None):
    """[(bytes, meta)] in sending order, and the list of skipped frames;
    stream_spec FLOWS:COUNT: numbered frames (stream()), sent first;
    extra: generated (conversation, sender, bytes, l2 reason), sent last."""
    out, skipped = [], []
    if stream_spec:
        flows, count = (int(x) for x in stream_spec.split(":"))
        out += stream(flows, count)
    for path in pcaps:
        for n, (data, _, _) in enumerate(read_pcap(path), 1):
            meta = {"origin": "pcap", "file": os.path.basename(path), "n": n}
            if len(data) > max_frame:
                skipped.append(dict(meta, len=len(data),
                                    reason="longer than MTU + 14 = %d" % max_frame))
                continue
            if len(data) < 14:
                skipped.append(dict(meta, len=len(data), reason="shorter than an Ethernet header"))
                continue
            out.append((data, meta))
    if generate:
        for c in conversations(jumbo):
            for sender, data, reason in c.frames:
                out.append((data, {"origin": "gen", "conv": c.name, "sender": sender,
                                   "capture": True, "reason": reason}))
    for name, sender, data, reason in extra:
        out.append((data, {"origin": "gen", "conv": name, "sender": sender, "capture": True,
                           "reason": reason}))
    return out, skipped


def iface_mtu(ifname):
    with open("/sys/class/net/%s/mtu" % ifname) as f:
        return int(f.read())


def send_all(ifname, frames, rate):
    """Sends the frames at about `rate` per second; returns send times (ns)."""
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    s.bind((ifname, 0))
    times = []
    start = time.monotonic()
    for i, (data, _) in enumerate(frames):
        due = start + i / rate
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        times.append(time.time_ns())
        for attempt in range(100):
            try:
                s.send(data)
                break
            except OSError as e:  # ENOBUFS: let the queue drain
                if e.errno != errno.ENOBUFS or attempt == 99:
                    raise
                time.sleep(0.001)
    s.close()
    return times


def write_manifest(path, ifname, frames, times, skipped):
    entries = []
    for i, (data, meta) in enumerate(frames):
        e = dict(meta, i=i, hex=data.hex())
        if times:
            e["t_ns"] = times[i]
        entries.append(e)
    with open(path, "w") as f:
        json.dump({"iface": ifname, "frames": entries, "skipped": skipped}, f, indent=0)
        f.write("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    sp = sub.add_parser("send", help="send frames out of an interface")
    sp.add_argument("-i", "--iface", required=True)
    sp.add_argument("--rate", type=float, default=1000, help="frames per second")
    gp = sub.add_parser("generate", help="build the frames without sending them")
    for p in (sp, gp):
        p.add_argument("--pcap", action="append", default=[], help="capture to replay")
        p.add_argument("--pcap-dir", help="replay every Ethernet capture of this directory")
        p.add_argument("--jumbo", action="store_true",
                       help="with --generate: add a conversation of 9014-byte frames")
        p.add_argument("--generate", action="store_true", help="add the generated conversations")
        p.add_argument("--stream", metavar="FLOWS:COUNT",
                       help="first, COUNT numbered UDP frames over FLOWS conversations")
        p.add_argument("--manifest", help="write what was sent here (JSON)")
        p.add_argument("--sent-pcap", help="write the frames sent as a pcap")
        p.add_argument("--mtu", type=int, help="default: the interface's")
        p.add_argument("--long-lived", metavar="N:FRAMES",
                       help="N conversations of FRAMES frames each, interleaved: each lasts"
                       " the whole sending (FRAMES * N / rate seconds)")
        p.add_argument("--many-flows", type=int, metavar="N", help="N new flows of one frame")
    args = ap.parse_args()

    if args.cmd == "generate":
        args.generate = True
    mtu = args.mtu or (iface_mtu(args.iface) if args.cmd == "send" else 1500)
    if args.pcap_dir:
        found, other = ethernet_pcaps(args.pcap_dir)
        args.pcap += found
        print("traffic.py: %d Ethernet captures in %s; not replayed (not Ethernet/classic"
              " pcap): %s" % (len(found), args.pcap_dir, " ".join(other) or "none"),
              file=sys.stderr)
    extra = []
    if args.long_lived:
        n, each = (int(v) for v in args.long_lived.split(":"))
        extra += long_lived(n, each)
    if args.many_flows:
        extra += many_flows(args.many_flows)
    frames, skipped = frames_to_send(args.pcap, args.generate, mtu + 14, args.jumbo, extra,
                                     args.stream)
    for s in skipped:
        print("traffic.py: skipped %s frame %d (%d bytes): %s"
              % (s["file"], s["n"], s["len"], s["reason"]), file=sys.stderr)
    times = send_all(args.iface, frames, args.rate) if args.cmd == "send" else []
    if args.manifest:
        write_manifest(args.manifest, getattr(args, "iface", None), frames, times, skipped)
    if args.sent_pcap:
        now = time.time_ns()
        write_pcap(args.sent_pcap, [(d, times[i] if times else now)
                                    for i, (d, _) in enumerate(frames)])
    print("traffic.py: %s %d frames (%d generated), skipped %d"
          % ("sent" if times else "built", len(frames),
             sum(m["origin"] == "gen" for _, m in frames), len(skipped)), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
