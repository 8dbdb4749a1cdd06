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
 *           [-rate 2400..14400] [-ec none|redundancy] [-ec-depth N] [-max-datagram N]
 *           [-speedup X] [-timeout SECONDS] [-loss PERCENT] [-seed N] [-ident ID] [-v]
 *
 * The clock: spandsp advances only when fed 160-sample (20 ms) ticks through
 * t38_terminal_send_timeout(). With -speedup X a tick is fed every 20/X ms of
 * wall time, so a call runs X times faster than real time while spandsp still
 * paces its packets and times out exactly as it would on a real line.
 * -timeout is in virtual (spandsp) seconds.
 *
 * On exit it prints one JSON object on stdout describing how the call ended.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
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

static struct {
    int sock;
    struct sockaddr_in remote;
    /* UDPTL transmit side */
    uint16_t tx_seq;
    int ec_depth;           /* 0 = no redundancy */
    int max_datagram;
    uint8_t hist[HIST][512];
    int hist_len[HIST];
    int hist_count;
    /* UDPTL receive side */
    int rx_started;
    uint16_t rx_expected;
    /* impairment of what we send */
    double loss;
    uint64_t rng;
    /* results */
    int done;
    int completion;
    int phase_e_seen;
    long packets_sent, packets_dropped, packets_received, ifp_recovered, ifp_lost, duplicates;
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

/* Build and send one UDPTL packet (T.38 clause 9.1) carrying ifp as primary,
   with up to ec_depth earlier IFPs as secondaries, newest first, trimmed so
   that the datagram fits max_datagram. */
static void udptl_send(const uint8_t *ifp, int ifp_len)
{
    uint8_t buf[2048];
    int len = 0, i, entries;

    if (ifp_len > 500)
        die("IFP of %d octets is larger than this harness handles", ifp_len);
    buf[len++] = (uint8_t) (g.tx_seq >> 8);
    buf[len++] = (uint8_t) g.tx_seq;
    len += put_len(buf + len, ifp_len);
    memcpy(buf + len, ifp, ifp_len);
    len += ifp_len;
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

/* Parse one UDPTL datagram; deliver lost IFPs recovered from redundancy,
   then the primary, in sequence order, each exactly once. FEC-protected
   packets are accepted but only their primary is used. */
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
    int calling = -1, ecm = 1, version = 0, rate = 14400, depth = 3;
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
    g.ec_depth = strcmp(ec, "none") == 0 ? 0 : depth;
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
           "\"ifp_recovered\":%ld,\"ifp_lost\":%ld,\"duplicates\":%ld}\n",
           ticks * 20, g.packets_sent, g.packets_dropped, g.packets_received, g.ifp_recovered, g.ifp_lost,
           g.duplicates);
    fflush(stdout);
    t38_terminal_free(g.t38);
    close(g.sock);
    return 0;
}
