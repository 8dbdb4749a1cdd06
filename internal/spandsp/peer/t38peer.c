/*
 * t38peer: a T.38 fax terminal built on Debian's libspandsp (0.0.6), speaking
 * UDPTL over UDP, used by faxkit's interop tests as an independent peer.
 *
 * This is faxkit's own test harness: spandsp supplies T.30 and the IFP layer
 * (t38_terminal, t38_core); the UDPTL framing, the socket loop and the
 * accelerated clock are written here. It is compiled at test time against
 * the system library and never linked into faxkit itself.
 *
 * Usage:
 *   t38peer -mode send|receive -file F.tif -local 127.0.0.1:PORT -remote 127.0.0.1:PORT
 *           [-calling 0|1] [-ecm 0|1] [-version 0..3] [-compression mh,mr,mmr]
 *           [-rate 2400..14400] [-ec none|redundancy|fec] [-ec-depth N] [-max-datagram N]
 *           [-fec-span N] [-fec-entries M]
 *           [-speedup X] [-timeout SECONDS] [-loss PERCENT] [-seed N] [-ident ID] [-v]
 *
 * The clock: spandsp advances only when fed 160-sample (20 ms) ticks through
 * t38_terminal_send_timeout(). With -speedup X a tick is fed every 20/X ms of
 * wall time, so a call runs X times faster than real time while spandsp still
 * paces its packets and times out exactly as it would on a real line.
 * -timeout is in virtual (spandsp) seconds.
 *
 * On exit it prints one JSON object on stdout describing how the call ended.
 *
 * Error recovery (T.38 clause 9.1): -ec redundancy sends up to -ec-depth
 * earlier IFPs as secondaries; -ec fec sends fec-info parity in the layout
 * Asterisk's main/udptl.c and spandsp use (and faxkit's t38/fec.go follows):
 * the datagram with sequence number N, span S and E entries carries in entry
 * m (0 <= m < E) the XOR of the S IFPs N+m-S*E+k*E (0 <= k < S), each zero
 * padded to the longest of them; no length parity is sent. While fewer than
 * S*E packets have been sent, entries = N/S (and span 0, no entries, while
 * N < S). When the datagram would exceed -max-datagram the parity is
 * recomputed with fewer entries, then a shorter span, and finally dropped.
 * S*E is at most 15 (the 16-packet history of spandsp and Asterisk).
 * The receiver accepts both, whatever it was told to send: it recovers lost
 * IFPs from secondaries immediately, and for FEC datagrams it holds packets
 * behind a gap (up to RX_HOLD_PACKETS later datagrams or RX_HOLD_TICKS
 * ticks) so that one lost packet per parity group can be rebuilt; a rebuilt
 * packet is trimmed to the length its own IFP encoding declares.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <tiffio.h>
#include <spandsp.h>

#define MAX_SECONDARIES 8
#define HIST 16
#define MAX_FEC_ENTRIES 5
#define MAX_FEC_SPAN 5
#define MAX_FEC_REACH 15
#define MAX_IFP 500
#define RX_RING 64          /* > RX_HOLD_PACKETS + MAX_FEC_REACH */
#define RX_HOLD_PACKETS 20  /* a gap is declared lost this many packets on */
#define RX_HOLD_TICKS 10    /* ... or after this many 20 ms ticks */

/* One received (or rebuilt) packet, and the FEC its datagram carried. */
struct rx_slot {
    int valid;              /* seq below is meaningful */
    uint16_t seq;
    int have;               /* ifp holds the IFP */
    int via_fec;            /* rebuilt from parity */
    int dgram;              /* the datagram itself arrived */
    uint8_t ifp[MAX_IFP + 16];
    int len;
    int fec_span, fec_entries, fec_done;
    uint8_t fec[MAX_FEC_ENTRIES][MAX_IFP + 16];
    int fec_len[MAX_FEC_ENTRIES];
};

static struct {
    int sock;
    struct sockaddr_in remote;
    /* UDPTL transmit side */
    uint16_t tx_seq;
    int ec_depth;           /* 0 = no redundancy */
    int fec;                /* send fec-info instead of secondaries */
    int fec_span, fec_entries;
    int max_datagram;
    uint8_t hist[HIST][512];
    int hist_len[HIST];
    int hist_count;
    /* UDPTL receive side */
    int rx_started;
    uint16_t rx_expected;
    uint16_t rx_highest;    /* FEC path: newest sequence number seen */
    int rx_held;            /* FEC path: packets held behind a gap */
    long rx_gap_ticks;      /* FEC path: ticks the current gap has waited */
    struct rx_slot rx[RX_RING];
    int version;
    /* impairment of what we send */
    double loss;
    uint64_t rng;
    /* results */
    int done;
    int completion;
    int phase_e_seen;
    long packets_sent, packets_dropped, packets_received, ifp_recovered, ifp_lost, duplicates;
    long ifp_recovered_fec, fec_rebuild_rejected;
    t38_terminal_state_t *t38;
    t30_state_t *t30;
    t38_core_state_t *core;
    int verbose;
} g;

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "t38peer: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    printf("{\"ok\":false,\"result\":\"harness error\",\"code\":-1}\n");
    exit(2);
}

static double rnd(void)
{
    /* xorshift64*: deterministic loss for a given -seed */
    g.rng ^= g.rng >> 12;
    g.rng ^= g.rng << 25;
    g.rng ^= g.rng >> 27;
    return (double) ((g.rng * 2685821657736338717ULL) >> 11) / (double) (1ULL << 53);
}

/* PER length determinant of an open type or SEQUENCE OF (T.38 ASN.1, X.691). */
static int put_len(uint8_t *b, int n)
{
    if (n < 0x80) {
        b[0] = (uint8_t) n;
        return 1;
    }
    b[0] = (uint8_t) (0x80 | (n >> 8));
    b[1] = (uint8_t) n;
    return 2;
}

static int get_len(const uint8_t *b, int len, int *pos, int *n)
{
    if (*pos >= len)
        return -1;
    if ((b[*pos] & 0x80) == 0) {
        *n = b[(*pos)++];
        return 0;
    }
    if ((b[*pos] & 0xC0) == 0xC0)
        return -1; /* fragmented lengths never occur in UDPTL */
    if (*pos + 1 >= len)
        return -1;
    *n = ((b[*pos] & 0x3F) << 8) | b[*pos + 1];
    *pos += 2;
    return 0;
}

/* Open-type size of an octet string of n octets (an empty one is sent as
   one zero octet). */
static int open_size(int n)
{
    if (n == 0)
        n = 1;
    return (n < 0x80 ? 1 : 2) + n;
}

static int put_open(uint8_t *b, const uint8_t *data, int n)
{
    int i;
    if (n == 0) {
        b[0] = 1;
        b[1] = 0;
        return 2;
    }
    i = put_len(b, n);
    memcpy(b + i, data, n);
    return i + n;
}

/* Append fec-info for the datagram with sequence number g.tx_seq (the
   layout is described at the top of this file). len is the size of the
   datagram so far (sequence number and primary). */
static int put_fec(uint8_t *buf, int len)
{
    static uint8_t ent[MAX_FEC_ENTRIES][MAX_IFP];
    int ent_len[MAX_FEC_ENTRIES];
    int span = g.fec_span, entries = g.fec_entries, m, k, i;
    int n = g.tx_seq; /* packets sent before this one: seq starts at 0 */

    if (n < span * entries) {
        entries = n / span;
        if (n < span)
            span = entries = 0;
    }
    while (entries > 0) {
        int size = len + 1 + 2 + 1;
        for (m = 0; m < entries; m++) {
            ent_len[m] = 0;
            for (k = 0; k < span; k++) {
                int j = (n + m - span * entries + k * entries) & (HIST - 1);
                for (i = 0; i < g.hist_len[j]; i++) {
                    if (i < ent_len[m])
                        ent[m][i] ^= g.hist[j][i];
                    else
                        ent[m][i] = g.hist[j][i];
                }
                if (g.hist_len[j] > ent_len[m])
                    ent_len[m] = g.hist_len[j];
            }
            size += open_size(ent_len[m]);
        }
        if (size <= g.max_datagram)
            break;
        if (entries > 1) {
            entries--;
        } else if (--span == 0) {
            entries = 0;
            break;
        }
        if (n < span * entries)
            entries = n / span;
    }
    if (entries == 0)
        span = 0;
    buf[len++] = 0x80; /* error-recovery: fec-info */
    buf[len++] = 1;    /* fec-npackets: one octet */
    buf[len++] = (uint8_t) span;
    buf[len++] = (uint8_t) entries;
    for (m = 0; m < entries; m++)
        len += put_open(buf + len, ent[m], ent_len[m]);
    return len;
}

/* Build and send one UDPTL packet (T.38 clause 9.1) carrying ifp as primary,
   with up to ec_depth earlier IFPs as secondaries, newest first, trimmed so
   that the datagram fits max_datagram; or with FEC parity (-ec fec). */
static void udptl_send(const uint8_t *ifp, int ifp_len)
{
    uint8_t buf[2048];
    int len = 0, i, entries;

    if (ifp_len > MAX_IFP)
        die("IFP of %d octets is larger than this harness handles", ifp_len);
    buf[len++] = (uint8_t) (g.tx_seq >> 8);
    buf[len++] = (uint8_t) g.tx_seq;
    len += put_len(buf + len, ifp_len);
    memcpy(buf + len, ifp, ifp_len);
    len += ifp_len;
    if (g.fec) {
        len = put_fec(buf, len);
        goto sent;
    }
    buf[len++] = 0x00; /* error-recovery: secondary-ifp-packets */
    entries = g.ec_depth < g.hist_count ? g.ec_depth : g.hist_count;
    /* Shrink redundancy until the datagram fits. */
    for (;;) {
        int need = len + 1;
        for (i = 0; i < entries; i++) {
            int j = (g.tx_seq - 1 - i) & (HIST - 1);
            need += (g.hist_len[j] < 0x80 ? 1 : 2) + g.hist_len[j];
        }
        if (need <= g.max_datagram || entries == 0)
            break;
        entries--;
    }
    len += put_len(buf + len, entries);
    for (i = 0; i < entries; i++) {
        int j = (g.tx_seq - 1 - i) & (HIST - 1);
        len += put_len(buf + len, g.hist_len[j]);
        memcpy(buf + len, g.hist[j], g.hist_len[j]);
        len += g.hist_len[j];
    }
sent:
    memcpy(g.hist[g.tx_seq & (HIST - 1)], ifp, ifp_len);
    g.hist_len[g.tx_seq & (HIST - 1)] = ifp_len;
    if (g.hist_count < HIST)
        g.hist_count++;
    g.tx_seq++;

    if (g.loss > 0 && rnd() * 100.0 < g.loss) {
        g.packets_dropped++;
        return;
    }
    if (sendto(g.sock, buf, len, 0, (struct sockaddr *) &g.remote, sizeof(g.remote)) < 0 && errno != ECONNREFUSED)
        die("sendto: %s", strerror(errno));
    g.packets_sent++;
}

static int tx_packet_handler(t38_core_state_t *s, void *user_data, const uint8_t *buf, int len, int count)
{
    int i;
    /* spandsp asks for important packets (indicators, ends of signals) to
       be sent count times; as in Asterisk, each copy is its own UDPTL packet. */
    for (i = 0; i < count; i++)
        udptl_send(buf, len);
    return 0;
}

static void deliver(const uint8_t *ifp, int len, uint16_t seq)
{
    t38_core_rx_ifp_packet(g.core, ifp, len, seq);
}

/* Length of the IFP packet (T.38 clause 7) at the start of b, or -1 when
   b does not start with one; *empty counts data fields of a data-carrying
   type (hdlc-data, t4-non-ecm-data) that carry no data. packed selects the
   version 0 layout in which a field without data takes half an octet.
   Used to trim packets rebuilt from FEC, which are padded to the longest
   packet of their group. */
static int ifp_decode(const uint8_t *b, int len, int packed, int *empty)
{
    int i = 1, count, k, half = 0;

    *empty = 0;
    if (len < 1)
        return -1;
    if ((b[0] & 0x40) == 0) { /* t30-indicator */
        if (b[0] & 0x80)
            return -1;
        if ((b[0] & 0x20) == 0)
            return 1;
        if (len < 2 || (b[0] & 0x10))
            return -1;
        return 2;
    }
    if (b[0] & 0x20) { /* extension data type */
        if (len < 2 || (b[0] & 0x10))
            return -1;
        i = 2;
    }
    if ((b[0] & 0x80) == 0)
        return i;
    if (i >= len)
        return -1;
    if ((b[i] & 0x80) == 0) {
        count = b[i++];
    } else if ((b[i] & 0x40) == 0) {
        if (i + 1 >= len)
            return -1;
        count = ((b[i] & 0x3F) << 8) | b[i + 1];
        i += 2;
    } else {
        return -1;
    }
    if (count == 0 || count > 2 * (len - i))
        return -1;
    for (k = 0; k < count; k++) {
        int fp, type, l;
        if (i >= len)
            return -1;
        if (g.version == 0 && half) {
            fp = (b[i] & 0x08) != 0;
            type = b[i] & 0x07;
            i++;
            half = 0;
        } else if (g.version == 0) {
            fp = (b[i] & 0x80) != 0;
            type = (b[i] >> 4) & 0x07;
            if (!fp && packed)
                half = 1;
            else
                i++;
        } else if ((b[i] & 0x40) == 0) {
            fp = (b[i] & 0x80) != 0;
            type = (b[i] >> 3) & 0x07;
            i++;
        } else {
            fp = (b[i] & 0x80) != 0;
            if (i + 1 >= len || (b[i] & 0x10))
                return -1;
            type = 8; /* an extension field type */
            i += 2;
        }
        if (fp) {
            if (i + 2 > len)
                return -1;
            l = ((b[i] << 8) | b[i + 1]) + 1;
            i += 2;
            if (l > len - i)
                return -1;
            i += l;
        } else if (type == 0 || type == 6) {
            (*empty)++;
        }
    }
    if (half)
        i++;
    return i;
}

/* As faxkit's t38.ifpLen: version 0 packets are tried in the packed
   layout first, and in the octet layout when that fails or looks wrong. */
static int ifp_len(const uint8_t *b, int len)
{
    int empty, empty2, n, n2;

    n = ifp_decode(b, len, g.version == 0, &empty);
    if (g.version == 0 && len > 0 && (b[0] & 0xC0) == 0xC0 && (n < 0 || empty > 0)) {
        n2 = ifp_decode(b, len, 0, &empty2);
        if (n2 > 0 && (n < 0 || empty2 == 0))
            return n2;
    }
    return n;
}

static struct rx_slot *rx_slot(uint16_t seq)
{
    struct rx_slot *s = &g.rx[seq % RX_RING];
    return s->valid && s->seq == seq ? s : NULL;
}

static struct rx_slot *rx_init_slot(uint16_t seq)
{
    struct rx_slot *s = &g.rx[seq % RX_RING];
    memset(s, 0, offsetof(struct rx_slot, ifp));
    s->valid = 1;
    s->seq = seq;
    s->len = 0;
    s->fec_span = s->fec_entries = s->fec_done = 0;
    return s;
}

/* Rebuild missing packets from the FEC held in the ring, repeating while a
   rebuilt packet makes another group solvable. */
static void fec_repair(void)
{
    int iter, m, k, i;
    uint16_t n;

    for (iter = 0; iter < 8; iter++) {
        int progress = 0;
        for (n = g.rx_expected + 1; (int16_t) (n - g.rx_highest) <= 0; n++) {
            struct rx_slot *s = rx_slot(n);
            if (!s || !s->dgram || s->fec_entries == 0)
                continue;
            for (m = 0; m < s->fec_entries; m++) {
                int count = 0, l;
                uint16_t missing = 0;
                struct rx_slot *t;
                uint8_t buf[MAX_IFP + 16];
                int blen;
                if (s->fec_done & (1 << m))
                    continue;
                for (k = 0; k < s->fec_span; k++) {
                    uint16_t idx = n + m - s->fec_span * s->fec_entries + k * s->fec_entries;
                    struct rx_slot *u = rx_slot(idx);
                    if (!u || !u->have) {
                        missing = idx;
                        count++;
                    }
                }
                if (count == 0) {
                    s->fec_done |= 1 << m;
                    continue;
                }
                /* Only a packet not yet delivered or declared lost. */
                if (count > 1 || (int16_t) (missing - g.rx_expected) < 0)
                    continue;
                blen = s->fec_len[m];
                memcpy(buf, s->fec[m], blen);
                for (k = 0; k < s->fec_span; k++) {
                    uint16_t idx = n + m - s->fec_span * s->fec_entries + k * s->fec_entries;
                    struct rx_slot *u;
                    if (idx == missing)
                        continue;
                    u = rx_slot(idx);
                    for (i = 0; i < u->len; i++) {
                        if (i < blen)
                            buf[i] ^= u->ifp[i];
                        else
                            buf[i] = u->ifp[i];
                    }
                    if (u->len > blen)
                        blen = u->len;
                }
                s->fec_done |= 1 << m;
                l = ifp_len(buf, blen);
                if (l <= 0) {
                    /* Parity that does not match its group: deliver
                       nothing rather than junk. */
                    g.fec_rebuild_rejected++;
                    continue;
                }
                t = rx_slot(missing);
                if (!t)
                    t = rx_init_slot(missing);
                memcpy(t->ifp, buf, l);
                t->len = l;
                t->have = 1;
                t->via_fec = 1;
                progress = 1;
            }
        }
        if (!progress)
            return;
    }
}

/* Deliver what is in order; with force, declare the first gap lost. */
static void rx_flush(int force)
{
    for (;;) {
        struct rx_slot *s;
        if (g.rx_held == 0)
            return;
        s = rx_slot(g.rx_expected);
        if (s && s->have) {
            deliver(s->ifp, s->len, g.rx_expected);
            if (s->via_fec)
                g.ifp_recovered_fec++;
            g.rx_gap_ticks = 0;
        } else if (force) {
            g.ifp_lost++;
            force = 0;
            g.rx_gap_ticks = 0;
        } else {
            return;
        }
        if (g.rx_expected == g.rx_highest)
            g.rx_held = 0;
        g.rx_expected++;
    }
}

/* The FEC path of udptl_receive: hold the packet (and its parity) in the
   ring, rebuild what parity allows, deliver in order. */
static void udptl_receive_fec(uint16_t seq, const uint8_t *primary, int plen, int span, const uint8_t **ent,
                              const int *ent_len, int nent)
{
    struct rx_slot *s;
    int m;

    if (!g.rx_started) {
        g.rx_started = 1;
        g.rx_expected = seq;
    }
    if ((int16_t) (seq - g.rx_expected) < 0 || ((s = rx_slot(seq)) && s->dgram)) {
        g.duplicates++;
        return;
    }
    if (plen > MAX_IFP)
        return;
    if (!g.rx_held || (int16_t) (seq - g.rx_highest) > 0)
        g.rx_highest = seq;
    g.rx_held = 1;
    /* A packet far ahead: what lies behind it can no longer be rebuilt. */
    while ((int16_t) (g.rx_highest - g.rx_expected) >= RX_HOLD_PACKETS)
        rx_flush(1);
    s = rx_slot(seq);
    if (!s)
        s = rx_init_slot(seq);
    if (!s->have) {
        memcpy(s->ifp, primary, plen);
        s->len = plen;
        s->have = 1;
    }
    s->dgram = 1;
    s->fec_span = s->fec_entries = s->fec_done = 0;
    if (span >= 1 && nent >= 1 && nent <= MAX_FEC_ENTRIES && span * nent <= MAX_FEC_REACH) {
        for (m = 0; m < nent; m++) {
            if (ent_len[m] > MAX_IFP)
                break;
            memcpy(s->fec[m], ent[m], ent_len[m]);
            s->fec_len[m] = ent_len[m];
        }
        if (m == nent) {
            s->fec_span = span;
            s->fec_entries = nent;
        }
    }
    fec_repair();
    rx_flush(0);
}

/* Called every tick: a gap held too long is declared lost. */
static void rx_tick(void)
{
    if (!g.rx_held)
        return;
    if (++g.rx_gap_ticks >= RX_HOLD_TICKS)
        rx_flush(1);
    rx_flush(0);
}

/* Parse one UDPTL datagram. With redundancy (or none): deliver lost IFPs
   recovered from secondaries, then the primary, in sequence order, each
   exactly once. With fec-info: see udptl_receive_fec. */
static void udptl_receive(const uint8_t *b, int len)
{
    int pos = 0, n, i, plen;
    uint16_t seq;
    const uint8_t *primary;
    const uint8_t *sec[MAX_SECONDARIES];
    int sec_len[MAX_SECONDARIES];
    int nsec = 0;

    if (len < 3)
        return;
    seq = (uint16_t) ((b[0] << 8) | b[1]);
    pos = 2;
    if (get_len(b, len, &pos, &plen) < 0 || pos + plen > len)
        return;
    primary = b + pos;
    pos += plen;
    if (pos < len && (b[pos] & 0x80)) {
        const uint8_t *ent[MAX_FEC_ENTRIES];
        int ent_len[MAX_FEC_ENTRIES], nent = 0, span = 0, k;
        pos++;
        if (get_len(b, len, &pos, &n) < 0 || n < 1 || n > 3 || pos + n > len || (b[pos] & 0x80))
            return;
        for (k = 0; k < n; k++)
            span = (span << 8) | b[pos + k];
        pos += n;
        if (get_len(b, len, &pos, &n) < 0)
            return;
        for (i = 0; i < n; i++) {
            int l;
            if (get_len(b, len, &pos, &l) < 0 || pos + l > len)
                return;
            if (i < MAX_FEC_ENTRIES) {
                ent[i] = b + pos;
                ent_len[i] = l;
            }
            pos += l;
        }
        nent = n > MAX_FEC_ENTRIES ? 0 : n; /* as Asterisk: too many, use none */
        g.packets_received++;
        udptl_receive_fec(seq, primary, plen, span, ent, ent_len, nent);
        return;
    }
    /* A redundancy datagram after FEC ones: give up what is held. */
    while (g.rx_held)
        rx_flush(1);
    if (pos < len && b[pos] == 0x00) {
        pos++;
        if (get_len(b, len, &pos, &n) < 0)
            return;
        for (i = 0; i < n; i++) {
            int l;
            if (get_len(b, len, &pos, &l) < 0 || pos + l > len)
                return;
            if (nsec < MAX_SECONDARIES) {
                sec[nsec] = b + pos;
                sec_len[nsec] = l;
                nsec++;
            }
            pos += l;
        }
    }
    g.packets_received++;
    if (!g.rx_started) {
        g.rx_started = 1;
        g.rx_expected = seq;
    }
    {
        int16_t ahead = (int16_t) (seq - g.rx_expected);
        if (ahead < 0) {
            g.duplicates++;
            return;
        }
        for (; g.rx_expected != seq; g.rx_expected++) {
            int back = (uint16_t) (seq - g.rx_expected); /* 1 = previous packet */
            if (back <= nsec) {
                deliver(sec[back - 1], sec_len[back - 1], g.rx_expected);
                g.ifp_recovered++;
            } else {
                g.ifp_lost++;
            }
        }
    }
    deliver(primary, plen, seq);
    g.rx_expected = seq + 1;
}

static void phase_e_handler(t30_state_t *s, void *user_data, int completion_code)
{
    g.phase_e_seen = 1;
    g.completion = completion_code;
}

static void log_handler(int level, const char *text)
{
    fputs(text, stderr);
}

static void parse_addr(const char *s, struct sockaddr_in *a)
{
    char host[64];
    const char *colon = strrchr(s, ':');
    if (!colon || colon - s >= (int) sizeof(host))
        die("bad address %s", s);
    memcpy(host, s, colon - s);
    host[colon - s] = 0;
    memset(a, 0, sizeof(*a));
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t) atoi(colon + 1));
    if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
        die("bad address %s", s);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static const char *encoding_name(int e)
{
    switch (e) {
    case T4_COMPRESSION_ITU_T4_1D: return "MH";
    case T4_COMPRESSION_ITU_T4_2D: return "MR";
    case T4_COMPRESSION_ITU_T6: return "MMR";
    }
    return "";
}

static void json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            putchar('\\');
        if ((unsigned char) *s >= 0x20)
            putchar(*s);
    }
    putchar('"');
}

int main(int argc, char **argv)
{
    const char *mode = NULL, *file = NULL, *local = NULL, *remote = NULL, *ident = "spandsp peer";
    const char *compression = "mh,mr,mmr", *ec = "redundancy";
    int calling = -1, ecm = 1, version = 0, rate = 14400, depth = 3, fec_span = 3, fec_entries = 3;
    double speedup = 10.0, timeout_s = 300.0;
    int i, sending, modems, comp;
    struct sockaddr_in la;
    logging_state_t *logs[2];
    long ticks = 0, linger_ticks = -1;
    double next_tick;
    t30_stats_t st;

    g.max_datagram = 400;
    g.rng = 0x9E3779B97F4A7C15ULL;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = (i + 1 < argc) ? argv[i + 1] : NULL;
#define OPT(name) (strcmp(a, name) == 0 && v && (i++, 1))
        if (OPT("-mode")) mode = v;
        else if (OPT("-file")) file = v;
        else if (OPT("-local")) local = v;
        else if (OPT("-remote")) remote = v;
        else if (OPT("-calling")) calling = atoi(v);
        else if (OPT("-ecm")) ecm = atoi(v);
        else if (OPT("-version")) version = atoi(v);
        else if (OPT("-compression")) compression = v;
        else if (OPT("-rate")) rate = atoi(v);
        else if (OPT("-ec")) ec = v;
        else if (OPT("-ec-depth")) depth = atoi(v);
        else if (OPT("-fec-span")) fec_span = atoi(v);
        else if (OPT("-fec-entries")) fec_entries = atoi(v);
        else if (OPT("-max-datagram")) g.max_datagram = atoi(v);
        else if (OPT("-speedup")) speedup = atof(v);
        else if (OPT("-timeout")) timeout_s = atof(v);
        else if (OPT("-loss")) g.loss = atof(v);
        else if (OPT("-seed")) g.rng ^= strtoull(v, NULL, 10) * 0xD1B54A32D192ED03ULL + 1;
        else if (OPT("-ident")) ident = v;
        else if (strcmp(a, "-v") == 0) g.verbose = 1;
        else die("unknown or incomplete option %s", a);
    }
    if (!mode || !file || !local || !remote)
        die("need -mode, -file, -local and -remote");
    sending = strcmp(mode, "send") == 0;
    if (!sending && strcmp(mode, "receive") != 0)
        die("-mode must be send or receive");
    if (calling < 0)
        calling = sending;
    if (speedup <= 0)
        die("-speedup must be positive");
    if (strcmp(ec, "fec") == 0) {
        if (fec_span < 1 || fec_span > MAX_FEC_SPAN || fec_entries < 1 || fec_entries > MAX_FEC_ENTRIES ||
            fec_span * fec_entries > MAX_FEC_REACH)
            die("-fec-span %d -fec-entries %d: each 1..5 and their product at most %d", fec_span, fec_entries,
                MAX_FEC_REACH);
        g.fec = 1;
        g.fec_span = fec_span;
        g.fec_entries = fec_entries;
        depth = 0;
    } else if (strcmp(ec, "none") == 0) {
        depth = 0;
    } else if (strcmp(ec, "redundancy") != 0) {
        die("-ec must be none, redundancy or fec");
    }
    g.ec_depth = depth;
    g.version = version;
    if (g.ec_depth > MAX_SECONDARIES)
        g.ec_depth = MAX_SECONDARIES;
    if (g.max_datagram <= 0 || g.max_datagram > 1400)
        g.max_datagram = 400; /* as Asterisk does */

    g.sock = socket(AF_INET, SOCK_DGRAM, 0);
    if (g.sock < 0)
        die("socket: %s", strerror(errno));
    parse_addr(local, &la);
    parse_addr(remote, &g.remote);
    if (bind(g.sock, (struct sockaddr *) &la, sizeof(la)) < 0)
        die("bind %s: %s", local, strerror(errno));
    {
        /* An unpaced peer sends a whole page in a burst: hold it (the
           kernel caps this at net.core.rmem_max). */
        int rcvbuf = 4 << 20;
        setsockopt(g.sock, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    }

    g.t38 = t38_terminal_init(NULL, calling, tx_packet_handler, NULL);
    if (!g.t38)
        die("t38_terminal_init failed");
    g.t30 = t38_terminal_get_t30_state(g.t38);
    g.core = t38_terminal_get_t38_core_state(g.t38);
    t38_set_t38_version(g.core, version);
    t38_set_max_datagram_size(g.core, g.max_datagram);
    t38_terminal_set_config(g.t38, 0);
    t38_terminal_set_tep_mode(g.t38, 0);

    logs[0] = t30_get_logging_state(g.t30);
    logs[1] = t38_core_get_logging_state(g.core);
    for (i = 0; i < 2; i++) {
        span_log_set_message_handler(logs[i], log_handler);
        span_log_set_level(logs[i], g.verbose ? SPAN_LOG_SHOW_SEVERITY | SPAN_LOG_SHOW_PROTOCOL | SPAN_LOG_FLOW : 0);
    }

    modems = T30_SUPPORT_V27TER;
    if (rate >= 7200)
        modems |= T30_SUPPORT_V29;
    if (rate >= 12000)
        modems |= T30_SUPPORT_V17;
    comp = 0;
    if (strstr(compression, "mh"))
        comp |= T30_SUPPORT_T4_1D_COMPRESSION;
    if (strstr(compression, "mr"))
        comp |= T30_SUPPORT_T4_2D_COMPRESSION;
    if (strstr(compression, "mmr"))
        comp |= T30_SUPPORT_T6_COMPRESSION;
    t30_set_supported_modems(g.t30, modems);
    t30_set_supported_compressions(g.t30, comp);
    t30_set_ecm_capability(g.t30, ecm);
    t30_set_tx_ident(g.t30, ident);
    t30_set_phase_e_handler(g.t30, phase_e_handler, NULL);
    if (sending)
        t30_set_tx_file(g.t30, file, -1, -1);
    else
        t30_set_rx_file(g.t30, file, -1);

    next_tick = now_ms();
    for (;;) {
        double wait = next_tick - now_ms();
        struct pollfd pfd = {g.sock, POLLIN, 0};
        int r = poll(&pfd, 1, wait > 0 ? (int) (wait + 0.999) : 0);
        if (r < 0 && errno != EINTR)
            die("poll: %s", strerror(errno));
        if (r > 0 && (pfd.revents & POLLIN)) {
            uint8_t b[2048];
            ssize_t n;
            while ((n = recv(g.sock, b, sizeof(b), MSG_DONTWAIT)) > 0)
                udptl_receive(b, (int) n);
        }
        if (now_ms() < next_tick)
            continue;
        next_tick += 20.0 / speedup;
        rx_tick();
        t38_terminal_send_timeout(g.t38, 160);
        ticks++;
        if (g.phase_e_seen && linger_ticks < 0)
            linger_ticks = ticks + 100; /* 2 s for the last packets to go */
        if (linger_ticks >= 0 && ticks >= linger_ticks)
            break;
        if (ticks * 0.020 > timeout_s)
            break;
    }

    t30_get_transfer_statistics(g.t30, &st);
    printf("{\"ok\":%s,\"phase_e\":%s,\"code\":%d,\"result\":",
           g.phase_e_seen && g.completion == T30_ERR_OK ? "true" : "false",
           g.phase_e_seen ? "true" : "false", g.phase_e_seen ? g.completion : -1);
    json_string(g.phase_e_seen ? t30_completion_code_to_str(g.completion) : "timeout: no phase E");
    printf(",\"pages\":%d,\"bit_rate\":%d,\"ecm\":%s,\"compression\":\"%s\",\"bad_rows\":%d,"
           "\"longest_bad_row_run\":%d,\"ecm_retries\":%d,\"remote_ident\":",
           sending ? st.pages_tx : st.pages_rx, st.bit_rate, st.error_correcting_mode ? "true" : "false",
           encoding_name(st.encoding), st.bad_rows, st.longest_bad_row_run, st.error_correcting_mode_retries);
    json_string(t30_get_rx_ident(g.t30) ? t30_get_rx_ident(g.t30) : "");
    printf(",\"virtual_ms\":%ld,\"packets_sent\":%ld,\"packets_dropped\":%ld,\"packets_received\":%ld,"
           "\"ifp_recovered\":%ld,\"ifp_recovered_fec\":%ld,\"fec_rebuild_rejected\":%ld,\"ifp_lost\":%ld,"
           "\"duplicates\":%ld}\n",
           ticks * 20, g.packets_sent, g.packets_dropped, g.packets_received, g.ifp_recovered, g.ifp_recovered_fec,
           g.fec_rebuild_rejected, g.ifp_lost, g.duplicates);
    fflush(stdout);
    t38_terminal_free(g.t38);
    close(g.sock);
    return 0;
}
