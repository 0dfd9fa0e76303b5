#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""
Checks `xdpsensor classify --json` against tshark on real captures; TAP out.

One TAP test per capture, classify run with --key-layer inner (the
default). It fails when:
  * classify crashes, hangs (timeout), exits non-zero or writes to stderr;
  * classify does not print exactly one well-formed packet line per frame
    (numbered 1..M, as many as tshark counts), with len = the frame's wire
    length and verdict capture (the default action: every frame is keyed,
    at IP or at L2);
  * the flow lines do not add up to the packets, or a packet's
    community_id is on no flow line;
  * for a frame tshark decodes as IPv4/IPv6, the sensor's src, dst, proto,
    sport, dport, vlan_tags or dir differ from tshark's fields of the IP
    header the sensor keys and of the transport header right after it
    (after the IPv6 extension headers): the outermost, or inside the
    tunnels the sensor opens (VXLAN, GENEVE, GRE with IP, Ethernet or
    ERSPAN, IP in IP; at most 3), as tshark's layers show them; or its
    community_id differs: from tshark's own where tshark hashes the same
    header (the innermost IP header of the frame), else from the Community
    ID v1 computed here from the fields the sensor keys (ICMP errors:
    tshark hashes the quoted packet). The implementation below is checked
    against tshark on every plain packet;
  * a frame tshark does not decode as IP is not keyed at L2 (its MAC
    addresses, EtherType or LLC SAPs, read here from the frame's bytes), or
    with another reason than l2_not_ip when its EtherType is not IP.

Deliberate differences are the table DIFFERENCES: each a predicate over the
frame (tshark's decode + the raw bytes) and the precise outcome the sensor
must then have. Python 3 standard library only.
"""
import argparse
import base64
import concurrent.futures
import hashlib
import ipaddress
import json
import os
import struct
import subprocess
import sys
import time

# --------------------------------------------------------------- Community ID
# Community ID v1, https://github.com/corelight/community-id-spec: sha1 over
# seed (2 bytes), saddr, daddr, proto, 1 pad byte, [sport, dport], endpoints
# ordered lowest first, base64, "1:" prefix. ICMP/ICMPv6 type/code serve as
# ports; request/reply types map to each other (these tables are the spec's),
# other types are "one-way" and never reordered.
ICMP4_PEER = {8: 0, 0: 8, 13: 14, 14: 13, 15: 16, 16: 15, 10: 9, 9: 10,
              17: 18, 18: 17}
ICMP6_PEER = {128: 129, 129: 128, 130: 131, 131: 130, 133: 134, 134: 133,
              135: 136, 136: 135, 139: 140, 140: 139, 144: 145, 145: 144}
PORT_PROTOS = (1, 6, 17, 58, 132)


def icmp_ports(proto, itype, icode):
    """(sport, dport, one_way) of an ICMP (proto 1) / ICMPv6 type and code."""
    peer = (ICMP4_PEER if proto == 1 else ICMP6_PEER).get(itype)
    if peer is None:
        return itype, icode, True
    return itype, peer, False


def ordered(src, dst, ports):
    """True if Community ID keeps (src, dst) in this order."""
    if ports is not None and ports[2]:
        return True
    if src != dst:
        return src < dst
    return ports is None or ports[0] <= ports[1]


def community_id(src, dst, proto, ports, seed=0):
    """src/dst: packed addresses (4 or 16 bytes); ports: None (no transport
    ports) or (sport, dport, one_way)."""
    if not ordered(src, dst, ports):
        src, dst = dst, src
        if ports is not None:
            ports = (ports[1], ports[0], ports[2])
    data = struct.pack("!H", seed) + src + dst + struct.pack("!BB", proto, 0)
    if ports is not None:
        data += struct.pack("!HH", ports[0], ports[1])
    return "1:" + base64.b64encode(hashlib.sha1(data).digest()).decode()


# ------------------------------------------------------------------- pcap
def read_pcap(path):
    """[raw frame bytes] of a classic pcap file, or None if it is not one
    (the raw bytes only serve the predicates of DIFFERENCES)."""
    try:
        with open(path, "rb") as f:
            buf = f.read()
    except OSError:
        return None
    if len(buf) < 24:
        return None
    if buf[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        end = "<"
    elif buf[:4] in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        end = ">"
    else:
        return None
    out, off = [], 24
    while off + 16 <= len(buf):
        caplen = struct.unpack(end + "I", buf[off + 8:off + 12])[0]
        off += 16
        out.append(buf[off:off + caplen])
        off += caplen
    return out


# ------------------------------------------------------------------ tshark
TSHARK_FIELDS = [
    "frame.number", "frame.len", "frame.cap_len", "frame.protocols",
    "ip.src", "ip.dst", "ip.proto", "ip.frag_offset",
    "ipv6.src", "ipv6.dst", "ipv6.nxt",
    "ipv6.hopopts.nxt", "ipv6.routing.nxt", "ipv6.dstopts.nxt",
    "ipv6.fraghdr.nxt", "ipv6.fraghdr.offset",
    "tcp.srcport", "tcp.dstport", "udp.srcport", "udp.dstport",
    "sctp.srcport", "sctp.dstport",
    "icmp.type", "icmp.code", "icmpv6.type", "icmpv6.code",
    "communityid",
]
# The IPv6 extension headers the sensor follows (flow_parse.h,
# xs_ipv6_is_ext) as tshark names their layers, with their next-header field.
IPV6_EXT_LAYERS = {
    "ipv6.hopopts": "ipv6.hopopts.nxt",
    "ipv6.routing": "ipv6.routing.nxt",
    "ipv6.dstopts": "ipv6.dstopts.nxt",
    "ipv6.fraghdr": "ipv6.fraghdr.nxt",
}
L2_LAYERS = ("eth", "ethertype", "vlan", "ieee8021ad")
VLAN_LAYERS = ("vlan", "ieee8021ad")
L4_LAYERS = {6: "tcp", 17: "udp", 132: "sctp", 1: "icmp", 58: "icmpv6"}
L4_MIN = {6: 20, 17: 8, 132: 8, 1: 2, 58: 2}  # what xs_parse_l4 needs
SENSOR_MAX_VLAN = 2  # XS_MAX_VLAN_TAGS
SENSOR_MAX_IPV6_EXT = 6  # XS_MAX_IPV6_EXT
TEST_RUN_MAX_FRAME = 65536  # user/cmd/classify.c: longer frames run truncated
SENSOR_MAX_DECAP = 3  # XS_MAX_DECAP
ETH_LAYERS = ("ethertype", "vlan", "ieee8021ad")


def tshark_cmd(tshark, path):
    cmd = [tshark, "-n", "-r", path, "-o", "ip.defragment:FALSE",
           "-o", "ipv6.defragment:FALSE", "--enable-protocol", "communityid",
           "-T", "fields", "-E", "separator=/t", "-E", "aggregator=,",
           "-E", "occurrence=a"]
    for f in TSHARK_FIELDS:
        cmd += ["-e", f]
    return cmd


def parse_tshark(text):
    """One dict per frame: field -> list of values (outer layer first)."""
    rows = []
    for line in text.splitlines():
        cols = line.split("\t")
        cols += [""] * (len(TSHARK_FIELDS) - len(cols))
        rows.append({f: [x for x in c.split(",") if x]
                     for f, c in zip(TSHARK_FIELDS, cols)})
    return rows


def layer_of(field):
    """The layer (frame.protocols name) a field belongs to."""
    parts = field.split(".")
    return ".".join(parts[:2]) if parts[0] == "ipv6" and len(parts) > 2 else parts[0]


def inner_target(layers, ip_idx):
    """(index of the IP layer the sensor keys with --key-layer inner, tunnels
    opened): the tunnels it opens as tshark names their layers."""
    i, depth = ip_idx, 0
    while depth < SENSOR_MAX_DECAP:
        j = i + 1
        while j < len(layers) and layers[j] in IPV6_EXT_LAYERS:
            j += 1
        rest = layers[j:j + 2]
        if rest[:1] in (["ip"], ["ipv6"]):
            k = j
        elif rest in (["udp", "vxlan"], ["udp", "geneve"]):
            k = j + 2
        elif rest[:1] == ["gre"]:
            k = j + 2 if rest == ["gre", "erspan"] else j + 1
        else:
            break
        if k < len(layers) and layers[k] == "eth":
            k += 1
            while k < len(layers) and layers[k] in ETH_LAYERS:
                k += 1
        if k >= len(layers) or layers[k] not in ("ip", "ipv6"):
            break
        i, depth = k, depth + 1
    return i, depth


class View:
    """tshark's decode of one frame, reduced to what the sensor keys: the
    outermost IP header and the transport header right after it; .inner
    the same for the IP header inside the tunnels the sensor opens (None
    without a tunnel)."""

    def __init__(self, row, file, at=None):
        self.file = file
        self.n = int(row["frame.number"][0])
        self.wire_len = int(row["frame.len"][0])
        p = row["frame.protocols"]
        self.layers = p[0].split(":") if p else []
        self.ip_layers = [x for x in self.layers if x in ("ip", "ipv6")]
        self.ip_idx = next((i for i, x in enumerate(self.layers)
                            if x in ("ip", "ipv6")), None)
        self.family = self.src = self.dst = self.proto = None
        self.ports = None  # (sport, dport, one_way) as Community ID has them
        self.ext = []  # extension header layers of the outer IPv6 header
        self.nonfirst_frag = False
        self.direct, self.vlan_tags = False, 0
        self.inner, self.depth, self.innermost = None, 0, False
        cid = row["communityid"]
        self.tshark_cid = cid[0] if cid else None
        if self.ip_idx is None:
            return
        before = self.layers[:self.ip_idx]
        self.direct = all(x in L2_LAYERS for x in before)
        self.vlan_tags = sum(1 for x in before if x in VLAN_LAYERS)
        if at is None:
            t, self.depth = inner_target(self.layers, self.ip_idx)
            if self.depth:
                self.inner = View(row, file, at=t)
            at = self.ip_idx
        # tshark hashes the last IP header of the frame
        self.innermost = at == max(i for i, x in enumerate(self.layers)
                                   if x in ("ip", "ipv6"))
        self.decode(row, at)

    def decode(self, row, at):
        self.family = 4 if self.layers[at] == "ip" else 6

        # The fields of a layer are the k-th value of each field, k the
        # number of layers of that name before it.
        def nth(f, pos):
            k = self.layers[:pos].count(layer_of(f))
            return row[f][k] if k < len(row[f]) else None

        if self.family == 4:
            self.src, self.dst = nth("ip.src", at), nth("ip.dst", at)
            proto = nth("ip.proto", at)
            self.nonfirst_frag = int(nth("ip.frag_offset", at) or 0) > 0
            i = at + 1
        else:
            self.src, self.dst = nth("ipv6.src", at), nth("ipv6.dst", at)
            proto = nth("ipv6.nxt", at)
            i = at + 1
            while i < len(self.layers) and self.layers[i] in IPV6_EXT_LAYERS:
                x = self.layers[i]
                self.ext.append(x)
                proto = nth(IPV6_EXT_LAYERS[x], i)
                offs = nth("ipv6.fraghdr.offset", i) if x == "ipv6.fraghdr" else None
                if offs and int(offs):
                    self.nonfirst_frag = True
                i += 1
        rest = self.layers[i:]
        self.proto = int(proto) if proto is not None else None
        l4 = rest[0] if rest else None
        if (self.nonfirst_frag or self.proto not in L4_LAYERS
                or l4 != L4_LAYERS[self.proto]):
            return  # no transport header, or tshark did not decode it
        if l4 in ("icmp", "icmpv6"):
            t, c = nth(l4 + ".type", i), nth(l4 + ".code", i)
            if t is not None and c is not None:
                self.ports = icmp_ports(self.proto, int(t), int(c))
        else:
            s, d = nth(l4 + ".srcport", i), nth(l4 + ".dstport", i)
            if s is not None and d is not None:
                self.ports = (int(s), int(d), False)


# ------------------------------------------------- deliberate differences
# Predicates take the View and the raw frame as classify ran it (its first
# TEST_RUN_MAX_FRAME bytes). Offsets come from tshark's layers.
def l3_off(v):
    return 14 + 4 * v.vlan_tags


def outer_ok(v, family=None):
    """The outer IP header is where the sensor looks: right after Ethernet
    and at most XS_MAX_VLAN_TAGS tags."""
    return (v.ip_idx is not None and v.direct
            and v.vlan_tags <= SENSOR_MAX_VLAN
            and (family is None or v.family == family))


def l4_off(v, raw):
    """Offset of the header after the outer IP header and its extension
    headers, None if the frame ends first."""
    o = l3_off(v)
    if o >= len(raw):
        return None
    if v.family == 4:
        return o + (raw[o] & 0x0F) * 4
    o += 40
    for x in v.ext:
        if o + 2 > len(raw):
            return None
        o += 8 if x == "ipv6.fraghdr" else (raw[o + 1] + 1) * 8
    return o


def ip_end(v, raw):
    """End of the outer IP datagram: the frame's end, or sooner if the IP
    length field says so (the rest is Ethernet padding); a length of 0 (GSO,
    big TCP, jumbogram) means the frame's end."""
    o = l3_off(v)
    if v.family == 4:
        n = struct.unpack("!H", raw[o + 2:o + 4])[0]
        return min(len(raw), o + n) if n else len(raw)
    n = struct.unpack("!H", raw[o + 4:o + 6])[0]
    return min(len(raw), o + 40 + n) if n else len(raw)


def d_not_direct(v, raw):
    """tshark decodes IP inside something the sensor does not parse (MPLS,
    NSH, MACsec, ...): the sensor keys IP only right after Ethernet/VLAN."""
    return v.ip_idx is not None and not v.direct


def d_vlan_depth(v, raw):
    """More than XS_MAX_VLAN_TAGS (2) VLAN tags before the IP header."""
    return v.ip_idx is not None and v.direct and v.vlan_tags > SENSOR_MAX_VLAN


def ipv4_bad(v, raw):
    """What xs_parse_ipv4 calls l2_bad_ipv4 (whole fixed header in the
    frame, version != 4, IHL < 5 or 0 < total length < IHL)."""
    o = l3_off(v)
    if not outer_ok(v, 4) or o + 20 > len(raw):
        return None
    ihl = (raw[o] & 0x0F) * 4
    tot = struct.unpack("!H", raw[o + 2:o + 4])[0]
    if raw[o] >> 4 != 4:
        return "version"
    if ihl < 20 or (tot and tot < ihl):
        return "length"
    return None


def d_ipv4_not_v4(v, raw):
    """Ethertype IPv4 but version field 6: tshark's ip dissector hands the
    header to its IPv6 dissector (layers ip:ipv6), the sensor wants 4."""
    return ipv4_bad(v, raw) == "version"


def d_ipv4_bad_len(v, raw):
    """IPv4 IHL < 5, or total length non-zero but < IHL: tshark shows the
    bogus header (without addresses, or without a payload), the sensor
    refuses it."""
    return ipv4_bad(v, raw) == "length"


def d_header_truncated(v, raw):
    """The outer IP header, an IPv6 extension header (the parser needs its
    first 8 bytes in the frame and all of it inside the payload length) or
    the fixed transport header (TCP 20, UDP/SCTP 8, ICMP 2 bytes) is cut
    short by the capture, by the 3500-byte test-run limit, or by the IP
    length field (what follows is padding): tshark shows what it could read,
    the sensor refuses the packet."""
    if not outer_ok(v):
        return False
    o = l3_off(v)
    if v.family == 4:  # the order of xs_parse_ipv4's checks
        if o + 20 > len(raw):
            return True
        if ipv4_bad(v, raw):
            return False
        ihl = (raw[o] & 0x0F) * 4
        if o + ihl > len(raw):
            return True
        end, o = ip_end(v, raw), o + ihl
    else:
        if o + 40 > len(raw):
            return True
        end, o = ip_end(v, raw), o + 40
        for x in v.ext[:SENSOR_MAX_IPV6_EXT]:
            if o + 8 > len(raw):
                return True
            n = 8 if x == "ipv6.fraghdr" else (raw[o + 1] + 1) * 8
            if o + n > end:
                return True
            o += n
        if len(v.ext) > SENSOR_MAX_IPV6_EXT:
            return False  # err_ipv6_ext_depth
    if v.nonfirst_frag or v.proto not in L4_MIN:
        return False
    return o + L4_MIN[v.proto] > end


def d_ipv6_ext_depth(v, raw):
    """More than XS_MAX_IPV6_EXT (6) extension headers after the outer IPv6
    header (and the first 6 all in the frame)."""
    return (outer_ok(v, 6) and len(v.ext) > SENSOR_MAX_IPV6_EXT
            and not d_header_truncated(v, raw))


def d_short_frame(v, raw):
    """Frame shorter than an Ethernet header: BPF_PROG_TEST_RUN refuses it
    (the kernel wants ETH_HLEN bytes) and no NIC hands one to XDP, so it can
    only be reported as truncated."""
    return len(raw) < 14


def d_ipv6_plen0(v, raw):
    """IPv6 payload length 0 and no jumbo option (GSO / big TCP frames as
    captured on the host): tshark takes the payload as empty and decodes no
    transport header ([Malformed Packet]); the sensor, as it must for such
    frames, reads the transport header in the frame. Its ports are checked
    against the bytes at the offset tshark's layers give."""
    o = l3_off(v)
    return (outer_ok(v, 6) and not v.ext and len(raw) >= o + 40
            and raw[o + 4:o + 6] == b"\0\0" and v.ports is None
            and v.proto in PORT_PROTOS)


def d_udp_len_bogus(v, raw):
    """UDP length field < 8 (0 in GSO / big-UDP frames): tshark flags the
    UDP header as bogus and hashes its Community ID without the ports; the
    sensor keys the ports. src/dst/ports are checked against tshark's
    fields, the Community ID against this script's."""
    if not outer_ok(v) or v.proto != 17 or v.ports is None:
        return False
    o = l4_off(v, raw)
    return (o is not None and o + 8 <= len(raw)
            and struct.unpack("!H", raw[o + 4:o + 6])[0] < 8)


def d_lwapp_cid(v, raw):
    """lwapp-data.pcap frame 2 only: tshark's communityid post-dissector
    hashes pinfo's ports, which dissecting this frame's LWAPP-carried 802.11
    association request left at 1/1 (found by brute force); udp.srcport/
    dstport (20105/12222) agree with the sensor, the Community ID is checked
    against this script's."""
    return v.file == "lwapp-data.pcap" and v.n == 2


def d_udp_tunnel_len0(v, raw):
    """A VXLAN/GENEVE port but UDP or IPv6 payload length 0 (big GSO
    frames): tshark decodes nothing after the UDP header, the sensor opens
    the tunnel by its destination port. Its outer header is checked against
    tshark's (the ports against the frame's bytes), the inner key not at
    all."""
    if v.inner is not None or v.proto != 17:
        return False
    ports = v.ports if d_udp_len_bogus(v, raw) else (
        raw_ports(v, raw) if d_ipv6_plen0(v, raw) else None)
    return ports is not None and ports[1] in (4789, 6081)


def d_inner_cut(v, raw):
    """Inside a tunnel the sensor opens, the IP or transport header is cut
    short (tshark decodes no transport header after it): the sensor keys
    the layer around it, the tunnel, as a layer is replaced only once it
    is keyed whole."""
    i = v.inner
    return (i is not None and not i.nonfirst_frag and i.proto in L4_LAYERS
            and i.ports is None)


# (id, predicate(view, raw), outcome); the reason is the predicate's
# docstring. Outcomes:
#   ("l2", "l2_...")     the sensor must key the frame at L2 (its MACs,
#                        EtherType or SAPs) with that reason;
#   ("key", "outer")     keyed on the outer IP header, not inside the tunnel;
#   ("key", "tunnel-unseen") keyed inside a tunnel tshark does not decode:
#                        only the outer header the sensor reports is checked;
#   ("key", "own-cid")   keyed, fields checked against tshark as usual, the
#                        Community ID against this script's only;
#   ("key", "raw-ports") keyed; tshark decoded no transport header, so the
#                        ports are read from the frame at the offset
#                        tshark's layers give; Community ID this script's.
DIFFERENCES = [
    ("not-direct-ip", d_not_direct, ("l2", "l2_not_ip")),
    ("vlan-depth", d_vlan_depth, ("l2", "l2_vlan_depth")),
    ("ipv4-not-v4", d_ipv4_not_v4, ("l2", "l2_bad_ipv4")),
    ("ipv4-bad-length", d_ipv4_bad_len, ("l2", "l2_bad_ipv4")),
    ("header-truncated", d_header_truncated, ("l2", "l2_truncated")),
    ("ipv6-ext-depth", d_ipv6_ext_depth, ("l2", "l2_ipv6_ext_depth")),
    ("short-frame", d_short_frame, ("l2", "l2_truncated")),
    ("inner-cut", d_inner_cut, ("key", "outer")),
    ("udp-tunnel-len0", d_udp_tunnel_len0, ("key", "tunnel-unseen")),
    ("ipv6-plen0", d_ipv6_plen0, ("key", "raw-ports")),
    ("udp-len-bogus", d_udp_len_bogus, ("key", "own-cid")),
    ("lwapp-cid", d_lwapp_cid, ("key", "own-cid")),
]


def reason_of(pred):
    return " ".join(pred.__doc__.split())


def raw_ports(v, raw):
    o = l4_off(v, raw)
    if o is None or v.proto not in L4_MIN or o + L4_MIN[v.proto] > len(raw):
        return None
    if v.proto in (1, 58):
        return icmp_ports(v.proto, raw[o], raw[o + 1])
    s, d = struct.unpack("!HH", raw[o:o + 4])
    return (s, d, False)


# ------------------------------------------------------------- comparison
def norm_addr(a):
    try:
        return str(ipaddress.ip_address(a))
    except ValueError:
        return a


def l2_expected(raw):
    """The sensor's L2 key fields of a frame (struct flow_key): source and
    destination MAC, and the EtherType after at most 2 VLAN tags, or the
    LLC (ssap, dsap) without their low bits."""
    if len(raw) < 14:  # never run: a zero key
        return {"src": "00:00:00:00:00:00", "dst": "00:00:00:00:00:00",
                "ssap": 0, "dsap": 0, "is_ip": False}
    mac = lambda b: ":".join("%02x" % x for x in b)  # noqa: E731
    out = {"src": mac(raw[6:12]), "dst": mac(raw[0:6])}
    etype, off, tags = struct.unpack("!H", raw[12:14])[0], 14, 0
    while etype in (0x8100, 0x88A8, 0x9100) and tags < SENSOR_MAX_VLAN:
        if off + 4 > len(raw):
            break
        etype, off, tags = struct.unpack("!H", raw[off + 2:off + 4])[0], off + 4, tags + 1
    if etype >= 0x0600:
        out["ethertype"] = etype
    elif off + 2 <= len(raw):
        out["ssap"], out["dsap"] = raw[off + 1] & 0xFE, raw[off] & 0xFE
    else:
        out["ssap"] = out["dsap"] = 0
    out["is_ip"] = etype in (0x0800, 0x86DD) or (etype in (0x8100, 0x88A8, 0x9100))
    return out


def check_l2(pkt, raw, reason):
    """Mismatches of a packet the sensor must key at L2 (reason: the one it
    must give, or None: any l2_* reason)."""
    errs = []
    if pkt.get("family") != 0:
        return ["the sensor must key it at L2, it keyed family %s" % pkt.get("family")]
    if reason and pkt.get("reason") != reason:
        errs.append("reason %s, expected %s" % (pkt.get("reason"), reason))
    if not str(pkt.get("reason", "")).startswith("l2_"):
        errs.append("no l2_* reason: %s" % pkt.get("reason"))
    if raw is None:
        return errs
    want = l2_expected(raw)
    if not reason and not want["is_ip"] and pkt.get("reason") != "l2_not_ip":
        errs.append("EtherType not IP, reason %s" % pkt.get("reason"))
    for k in ("src", "dst", "ethertype", "ssap", "dsap"):
        if want.get(k) != pkt.get(k):
            errs.append("L2 %s: sensor %s, frame %s" % (k, pkt.get(k), want.get(k)))
    return errs


def check_outer(v, pkt, want_decap, ports):
    """A packet keyed inside a tunnel: classify's "outer" object against
    tshark's outermost IP header (what the record's xs.outer_key holds)."""
    o = pkt.get("outer")
    if pkt.get("decap") != want_decap or not isinstance(o, dict):
        return ["decap %s, outer %s: expected %d tunnel(s) and the outer header"
                % (pkt.get("decap"), o, want_decap)]
    errs = []
    src, dst = ipaddress.ip_address(v.src), ipaddress.ip_address(v.dst)
    exp = {"src": str(src), "dst": str(dst), "proto": v.proto,
           "sport": ports[0] if ports else None,
           "dport": ports[1] if ports else None}
    for k in exp:
        got = norm_addr(o.get(k)) if k in ("src", "dst") else o.get(k)
        if got != exp[k]:
            errs.append("outer %s: sensor %s, tshark %s" % (k, got, exp[k]))
    return errs


def check_packet(v, pkt, raw, used, cid_checked):
    """Mismatches (strings) between one packet line and tshark's frame."""
    errs = []
    ip_keyed = pkt.get("family") in (4, 6)
    if pkt.get("len") != v.wire_len:
        errs.append("len %s, tshark frame.len %d" % (pkt.get("len"), v.wire_len))
    short = raw is not None and len(raw) < 14
    want_verdict = "none" if short else "capture"
    if pkt.get("verdict") != want_verdict:
        errs.append("verdict %s, expected %s (the default action; frames shorter than"
                    " Ethernet are not run)" % (pkt.get("verdict"), want_verdict))

    mods = set()
    for did, pred, outcome in DIFFERENCES:
        if raw is None or not pred(v, raw):
            continue
        used.setdefault(did, []).append(v.n)
        if outcome[0] == "l2":
            return errs + check_l2(pkt, raw, outcome[1])
        mods.add(outcome[1])

    if v.ip_idx is None:
        if ip_keyed:
            errs.append("tshark decodes no IP (%s), the sensor keyed it at IP"
                        % ":".join(v.layers))
            return errs
        return errs + check_l2(pkt, raw, None)
    if not ip_keyed:
        errs.append("tshark decodes %s, the sensor did not key it at IP (%s)"
                    % (":".join(v.layers), pkt.get("reason")))
        return errs
    if "tunnel-unseen" in mods:
        return errs + check_outer(v, pkt, 1, v.ports or raw_ports(v, raw))
    t = v.inner if v.inner is not None and "outer" not in mods else v
    want_decap = v.depth if t is v.inner else 0
    if want_decap:
        errs += check_outer(v, pkt, want_decap, v.ports)
    if pkt.get("decap", 0) != want_decap:
        errs.append("decap %s: tshark shows %d tunnel(s) the sensor opens"
                    % (pkt.get("decap", 0), want_decap))
        return errs
    if t.src is None or t.dst is None or t.proto is None:
        errs.append("tshark shows no addresses/protocol")
        return errs

    ports = t.ports
    if "raw-ports" in mods and t is v:
        ports = raw_ports(v, raw)
    elif t.proto in PORT_PROTOS and ports is None and not t.nonfirst_frag:
        errs.append("tshark decoded no %s header after the %s"
                    % (L4_LAYERS[t.proto], "ip" if t.family == 4 else "ipv6"))
    src, dst = ipaddress.ip_address(t.src), ipaddress.ip_address(t.dst)
    exp = {"src": str(src), "dst": str(dst), "proto": t.proto,
           "sport": ports[0] if ports else None,
           "dport": ports[1] if ports else None,
           "vlan_tags": v.vlan_tags,
           "dir": 0 if ordered(src.packed, dst.packed, ports) else 1}
    got = {k: pkt.get(k) for k in exp}
    got["src"], got["dst"] = norm_addr(pkt["src"]), norm_addr(pkt["dst"])
    for k in exp:
        if exp[k] != got[k]:
            errs.append("%s: sensor %s, tshark %s" % (k, got[k], exp[k]))

    mine = community_id(src.packed, dst.packed, t.proto, ports)
    use_tshark = (t.innermost and v.tshark_cid is not None
                  and not (mods - {"outer"}))
    if use_tshark:
        cid_checked[0] += 1
        if mine != v.tshark_cid:
            errs.append("Community ID: this script %s, tshark %s (the "
                        "script's implementation is wrong?)"
                        % (mine, v.tshark_cid))
    if pkt.get("community_id") != (v.tshark_cid if use_tshark else mine):
        errs.append("community_id: sensor %s, %s %s"
                    % (pkt.get("community_id"),
                       "tshark" if use_tshark else "from the header keyed",
                       v.tshark_cid if use_tshark else mine))
    return errs


def run(cmd, timeout):
    """(returncode or None on timeout, stdout, stderr)"""
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout)
        return (p.returncode, p.stdout.decode("utf-8", "replace"),
                p.stderr.decode("utf-8", "replace"))
    except subprocess.TimeoutExpired:
        return None, "", "timed out after %ss" % timeout


class Classified:
    """One classify run over some captures."""

    def __init__(self, files, rc, out, err):
        self.files, self.rc, self.err = files, rc, err
        self.pkts = {f: [] for f in files}
        self.flows, self.problems = [], []
        if rc is None:
            self.problems.append("classify hung (%s)" % err)
        elif rc < 0:
            self.problems.append("classify killed by signal %d" % -rc)
        elif rc != 0:
            self.problems.append("classify exited %d" % rc)
        if rc is not None and err.strip():
            self.problems.append("classify wrote to stderr: "
                                 + " | ".join(err.strip().splitlines()[:3]))
        for i, line in enumerate(out.splitlines(), 1):
            try:
                o = json.loads(line)
            except ValueError:
                self.problems.append("line %d is not JSON: %r" % (i, line[:120]))
                continue
            if o.get("type") == "packet" and o.get("file") in self.pkts:
                self.pkts[o["file"]].append(o)
            elif o.get("type") == "flow":
                self.flows.append(o)
            else:
                self.problems.append("unexpected line %d: %r" % (i, line[:120]))
        self.problems += self.flow_problems()

    def flow_problems(self):
        if self.rc != 0:
            return []
        pk = [p for ps in self.pkts.values() for p in ps]
        keyed = [p for p in pk if p.get("verdict") != "none"]  # all that ran
        probs = []
        n = sum(int(f.get("pkts", 0)) for f in self.flows)
        if n != len(keyed):
            probs.append("the flow lines count %d packets, %d were keyed"
                         % (n, len(keyed)))
        cids = {f.get("community_id") for f in self.flows}
        lost = [p for p in keyed if p.get("community_id") not in cids]
        if lost:
            probs.append("%d packet(s) whose community_id is on no flow line "
                         "(first: %s #%d %s)" % (len(lost),
                                                 os.path.basename(lost[0]["file"]),
                                                 lost[0]["n"],
                                                 lost[0]["community_id"]))
        return probs


def compare_file(path, ts, cl, max_report):
    """(ok, TAP description, [diagnostics], {difference: [frames]}, cids)"""
    name = os.path.basename(path)
    rc, out, err = ts
    if rc != 0:
        return (False, "%s: tshark failed: %s" % (name, err.strip()[-300:]),
                [], {}, 0)
    views = [View(r, name) for r in parse_tshark(out)]
    raw = read_pcap(path)
    fails, diags = list(cl.problems), []
    if raw is not None and len(raw) != len(views):
        diags.append("this script's pcap reader counts %d frames, tshark %d: "
                     "predicates off" % (len(raw), len(views)))
        raw = None
    pkts = cl.pkts[path]
    if len(pkts) != len(views):
        fails.append("%d packet lines for %d frames" % (len(pkts), len(views)))
    for i, p in enumerate(pkts, 1):
        if p.get("n") != i:
            fails.append("packet line %d has n=%s" % (i, p.get("n")))
            break

    used, cids, compared, bad = {}, [0], 0, 0
    for v, p in zip(views, pkts):
        r = raw[v.n - 1][:TEST_RUN_MAX_FRAME] if raw is not None else None
        errs = check_packet(v, p, r, used, cids)
        compared += v.ip_idx is not None and p.get("family") in (4, 6)
        if not errs:
            continue
        bad += 1
        if bad > max_report:
            continue
        diags.append("frame %d (%s): %s" % (v.n, ":".join(v.layers[:9]),
                                             "; ".join(errs)))
        diags.append("  sensor: " + json.dumps(
            {k: p[k] for k in ("verdict", "reason", "family", "src", "dst", "sport",
                               "dport", "ethertype", "ssap", "dsap", "proto", "dir",
                               "vlan_tags", "tunnel", "decap", "community_id") if k in p}))
        diags.append("  tshark: %s src %s dst %s proto %s ports %s vlan_tags "
                     "%s communityid %s" % (
                         v.layers[v.ip_idx] if v.ip_idx is not None else "no IP",
                         v.src, v.dst, v.proto, v.ports and v.ports[:2],
                         v.vlan_tags, v.tshark_cid))
    if bad:
        fails.append("%d frame(s) disagree with tshark" % bad)
        if bad > max_report:
            diags.append("(%d more not shown)" % (bad - max_report))
    for did in sorted(used):
        fr = used[did]
        diags.append("deliberate difference %s: frame%s %s%s" % (
            did, "s" if len(fr) > 1 else "", ",".join(map(str, fr[:20])),
            ",..." if len(fr) > 20 else ""))
    if fails:
        return False, "%s: %s" % (name, "; ".join(fails)), diags, used, cids[0]
    return (True, "%s (%d packets, %d compared)" % (name, len(views), compared),
            diags, used, cids[0])


def main():
    ap = argparse.ArgumentParser(description=__doc__.strip().split("\n")[0])
    ap.add_argument("--xdpsensor", default="build/xdpsensor")
    ap.add_argument("--tshark", default="tshark")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--batch", type=int, default=8,
                    help="captures per classify run (one BPF load each); a "
                    "run with any problem is redone one capture at a time")
    ap.add_argument("--timeout", type=int, default=60,
                    help="seconds a classify or tshark run may take")
    ap.add_argument("--max-report", type=int, default=10,
                    help="mismatching frames shown per capture")
    ap.add_argument("--differences", action="store_true",
                    help="print the table of deliberate differences")
    ap.add_argument("pcaps", nargs="*", help="capture files")
    args = ap.parse_args()

    if args.differences:
        for did, pred, outcome in DIFFERENCES:
            print("%s -> sensor %s\n    %s" % (did, " ".join(outcome),
                                              reason_of(pred)))
        return 0

    t0 = time.monotonic()
    files = sorted(args.pcaps, key=os.path.basename)
    print("1..%d" % len(files))
    sys.stdout.flush()

    def classify(batch):
        cmd = [args.xdpsensor, "classify", "--json", "--key-layer", "inner"] + batch
        return Classified(batch, *run(cmd, args.timeout))

    with concurrent.futures.ThreadPoolExecutor(max(1, args.jobs)) as ex:
        size = max(1, args.batch)
        batches = [files[i:i + size] for i in range(0, len(files), size)]
        cl_futs = [ex.submit(classify, b) for b in batches]
        ts_futs = {f: ex.submit(run, tshark_cmd(args.tshark, f), args.timeout)
                   for f in files}
        cl_of = {}
        for b, fut in zip(batches, cl_futs):
            res = fut.result()
            if res.problems and len(b) > 1:  # find out which capture it was
                for f in b:
                    cl_of[f] = ex.submit(classify, [f])
            else:
                for f in b:
                    cl_of[f] = res

        failed, used_total, cid_total = 0, {}, 0
        for i, f in enumerate(files, 1):
            cl = cl_of[f]
            if isinstance(cl, concurrent.futures.Future):
                cl = cl.result()
            try:
                ok, desc, diags, used, cids = compare_file(
                    f, ts_futs[f].result(), cl, args.max_report)
            except Exception as e:  # a bug here must not hide the others
                ok, desc, diags, used, cids = (
                    False, "%s: test error %r" % (os.path.basename(f), e),
                    [], {}, 0)
            failed += not ok
            cid_total += cids
            for k, v in used.items():
                used_total[k] = used_total.get(k, 0) + len(v)
            print("%s %d - %s" % ("ok" if ok else "not ok", i, desc))
            for d in diags:
                print("# " + d)
            sys.stdout.flush()

    print("# Community ID: the sensor's and this script's agreed with tshark's on %d "
          "packets (tunnelled ones on their innermost flow)" % cid_total)
    for did, pred, outcome in DIFFERENCES:
        print("# deliberate difference %s: %d frame(s) -> sensor %s"
              % (did, used_total.get(did, 0), " ".join(outcome)))
    print("# %d of %d captures ok, %.1fs" % (len(files) - failed, len(files),
                                           time.monotonic() - t0))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
