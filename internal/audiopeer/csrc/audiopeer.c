/*
 * audiopeer: an audio fax terminal on libspandsp's fax_state_t (T.30 over
 * spandsp's own V.21, V.27ter, V.29 and V.17 modems) that talks G.711 RTP
 * over UDP, for faxkit's interop tests of faxkit.AudioMedia. This is
 * faxkit's own test harness (spandsp supplies T.30 and the modems; the
 * RTP, the jitter buffer and the clock are written here); it is compiled at
 * test time and never linked into faxkit.
 *
 * Usage:
 *   audiopeer -mode send|receive -file F.tif -remote 127.0.0.1:PORT
 *             [-local 127.0.0.1:0] [-calling 0|1] [-ecm 0|1]
 *             [-modems v27|v29|v17] [-law pcmu|pcma] [-pt N] [-depth N]
 *             [-fillin 0|1] [-ptime MS] [-speedup X] [-timeout SECONDS] [-v]
 *
 * It binds -local (port 0: any), prints {"port":N} on stdout at once, and
 * from then on sends one RTP packet of G.711 samples every -ptime ms (10,
 * 20, 30 or 40; default 20: 160 samples), silence before and after the
 * call, its sequence numbers and timestamps continuous from random
 * starts. The clock: a tick every ptime/X ms of CLOCK_MONOTONIC with
 * -speedup X, on a fixed schedule (late
 * ticks are caught up), so the call runs X times faster than real time
 * while spandsp sees 8 kHz audio. -timeout is in call (virtual) seconds.
 *
 * Receive: a fixed jitter buffer of -depth packets (default 3), keyed by
 * RTP timestamp, from the first packet, of the same packet time as sent; packets from other
 * addresses or of another payload type are ignored; four packets in a row
 * outside its window restart it (a jump of the far end's timestamps). A block whose packet
 * is missing at its time is played as silence (what spandsp-based
 * gateways do), or with -fillin 1 handed to fax_rx_fillin().
 *
 * The call ends one second after spandsp's phase E; then one JSON object
 * describing it is printed on stdout.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <tiffio.h>
#include <spandsp.h>

#define MAXBLOCK 320 /* 40 ms */
#define SLOTS 64

static int block = 160; /* samples a packet: -ptime × 8 */

static int phase_e_seen, completion;

static void phase_e_handler(t30_state_t *s, void *user_data, int completion_code)
{
    phase_e_seen = 1;
    completion = completion_code;
}

static void log_handler(int level, const char *text)
{
    fputs(text, stderr);
}

static void die(const char *msg)
{
    fprintf(stderr, "audiopeer: %s\n", msg);
    exit(2);
}

static void parse_addr(const char *s, struct sockaddr_in *a)
{
    char host[64];
    const char *colon = strrchr(s, ':');
    if (!colon || colon - s >= (int) sizeof(host))
        die("bad address");
    memcpy(host, s, colon - s);
    host[colon - s] = 0;
    memset(a, 0, sizeof(*a));
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t) atoi(colon + 1));
    if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
        die("bad address");
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
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

struct slot {
    uint32_t ts;
    int full;
    int16_t pcm[MAXBLOCK];
};

static struct {
    int started;
    uint32_t next, first;
    struct slot s[SLOTS];
    long received, played, missing, late, overflow, foreign, resyncs;
} jb;

/* jb_put stores a packet. Four packets in a row outside the buffer's
 * window (far ahead of the playout point, or further behind it than the
 * buffer holds) are a jump of the far end's timestamps (it skipped time,
 * or the test machine stalled one end for longer than the buffer): the
 * buffer starts again from the fourth, as a gateway resynchronises. */
static void jb_put(uint32_t ts, const int16_t *pcm, int depth)
{
    int32_t ahead;
    struct slot *sl;
    static int off;
    int i;
    jb.received++;
    if (!jb.started) {
        jb.started = 1;
        jb.next = ts - (uint32_t) (depth * block);
        jb.first = ts;
    }
    ahead = (int32_t) (ts - jb.next);
    if (ahead < 0 || ahead >= SLOTS * block) {
        int far = ahead >= SLOTS * block || ahead <= -SLOTS * block;
        if (!far || ++off < 4) {
            if (!far)
                off = 0;
            if (ahead < 0)
                jb.late++;
            else
                jb.overflow++;
            return;
        }
        off = 0;
        jb.resyncs++;
        for (i = 0; i < SLOTS; i++)
            jb.s[i].full = 0;
        jb.next = ts - (uint32_t) (depth * block);
        jb.first = ts;
    } else {
        off = 0;
    }
    sl = &jb.s[(ts / block) % SLOTS];
    sl->ts = ts;
    sl->full = 1;
    memcpy(sl->pcm, pcm, block * sizeof(sl->pcm[0]));
}

/* jb_get fills out; returns 0 when the block is missing. */
static int jb_get(int16_t *out)
{
    struct slot *sl;
    if (!jb.started) {
        memset(out, 0, block * sizeof(*out));
        return 1;
    }
    sl = &jb.s[(jb.next / block) % SLOTS];
    if (sl->full && sl->ts == jb.next) {
        memcpy(out, sl->pcm, block * sizeof(*out));
        sl->full = 0;
        jb.played++;
        jb.next += block;
        return 1;
    }
    memset(out, 0, block * sizeof(*out));
    if ((int32_t) (jb.next - jb.first) < 0) {
        jb.next += block;
        return 1; /* the buffer's delay before the first packet */
    }
    jb.next += block;
    jb.missing++;
    return 0;
}

int main(int argc, char **argv)
{
    const char *mode = "receive", *file = NULL, *modems_opt = "v17", *law = "pcmu";
    const char *local = "127.0.0.1:0", *remote = NULL;
    int calling = -1, ecm = 1, verbose = 0, pt = -1, depth = 3, fillin = 0, ptime = 20, i, sending, modems, fd;
    double speedup = 1.0, timeout_s = 300.0, next_tick, end_at = 0;
    long ticks = 0, sent = 0;
    uint16_t seq;
    uint32_t ts, ssrc;
    int16_t rx[MAXBLOCK], tx[MAXBLOCK];
    uint8_t pkt[1500];
    struct sockaddr_in la, ra;
    socklen_t alen = sizeof(la);
    fax_state_t *fax;
    t30_state_t *t30;
    logging_state_t *logs[2];
    t30_stats_t st;
    int alaw;

    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-v")) {
            verbose = 1;
            continue;
        }
        if (!v)
            die("option without value");
        i++;
        if (!strcmp(a, "-mode")) mode = v;
        else if (!strcmp(a, "-file")) file = v;
        else if (!strcmp(a, "-local")) local = v;
        else if (!strcmp(a, "-remote")) remote = v;
        else if (!strcmp(a, "-calling")) calling = atoi(v);
        else if (!strcmp(a, "-ecm")) ecm = atoi(v);
        else if (!strcmp(a, "-modems")) modems_opt = v;
        else if (!strcmp(a, "-law")) law = v;
        else if (!strcmp(a, "-pt")) pt = atoi(v);
        else if (!strcmp(a, "-depth")) depth = atoi(v);
        else if (!strcmp(a, "-fillin")) fillin = atoi(v);
        else if (!strcmp(a, "-ptime")) ptime = atoi(v);
        else if (!strcmp(a, "-speedup")) speedup = atof(v);
        else if (!strcmp(a, "-timeout")) timeout_s = atof(v);
        else {
            fprintf(stderr, "audiopeer: unknown option %s\n", a);
            return 2;
        }
    }
    if (!file || !remote)
        die("-file and -remote are required");
    if (speedup <= 0 || depth < 1 || depth > SLOTS / 2)
        die("bad -speedup or -depth");
    if (ptime != 10 && ptime != 20 && ptime != 30 && ptime != 40)
        die("bad -ptime (10, 20, 30 or 40)");
    block = ptime * 8;
    sending = strcmp(mode, "send") == 0;
    if (calling < 0)
        calling = sending;
    alaw = strcmp(law, "pcma") == 0;
    if (pt < 0)
        pt = alaw ? 8 : 0;

    parse_addr(local, &la);
    parse_addr(remote, &ra);
    fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *) &la, sizeof(la)) < 0)
        die("cannot bind");
    if (getsockname(fd, (struct sockaddr *) &la, &alen) < 0)
        die("getsockname");
    printf("{\"port\":%d}\n", ntohs(la.sin_port));
    fflush(stdout);

    srandom((unsigned) (now_s() * 1e6) ^ (unsigned) getpid());
    seq = (uint16_t) random();
    ts = (uint32_t) random();
    ssrc = (uint32_t) random();

    fax = fax_init(NULL, calling);
    if (!fax)
        die("fax_init failed");
    fax_set_transmit_on_idle(fax, 1);
    fax_set_tep_mode(fax, 0);
    t30 = fax_get_t30_state(fax);
    logs[0] = t30_get_logging_state(t30);
    logs[1] = fax_get_logging_state(fax);
    for (i = 0; i < 2; i++) {
        span_log_set_message_handler(logs[i], log_handler);
        span_log_set_level(logs[i], verbose ? SPAN_LOG_SHOW_SEVERITY | SPAN_LOG_SHOW_PROTOCOL | SPAN_LOG_FLOW : 0);
    }
    modems = T30_SUPPORT_V27TER;
    if (strcmp(modems_opt, "v27") != 0)
        modems |= T30_SUPPORT_V29;
    if (strcmp(modems_opt, "v17") == 0)
        modems |= T30_SUPPORT_V17;
    t30_set_supported_modems(t30, modems);
    t30_set_supported_compressions(t30, T30_SUPPORT_T4_1D_COMPRESSION | T30_SUPPORT_T4_2D_COMPRESSION
                                            | T30_SUPPORT_T6_COMPRESSION);
    t30_set_ecm_capability(t30, ecm);
    t30_set_tx_ident(t30, "spandsp audio");
    t30_set_phase_e_handler(t30, phase_e_handler, NULL);
    if (sending)
        t30_set_tx_file(t30, file, -1, -1);
    else
        t30_set_rx_file(t30, file, -1);

    next_tick = now_s();
    for (;;) {
        double now = now_s(), wait = next_tick - now;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        /* Take what arrived until the tick is due. */
        if (poll(&p, 1, wait > 0 ? (int) (wait * 1000) + 1 : 0) > 0) {
            struct sockaddr_in from;
            socklen_t fl = sizeof(from);
            ssize_t n = recvfrom(fd, pkt, sizeof(pkt), 0, (struct sockaddr *) &from, &fl);
            if (n >= 12 + block && (pkt[0] >> 6) == 2 && (pkt[1] & 0x7f) == pt
                && from.sin_addr.s_addr == ra.sin_addr.s_addr && from.sin_port == ra.sin_port) {
                int16_t pcm[MAXBLOCK];
                int cc = pkt[0] & 0x0f, off = 12 + 4 * cc, k;
                uint32_t pts = (uint32_t) pkt[4] << 24 | (uint32_t) pkt[5] << 16 | (uint32_t) pkt[6] << 8 | pkt[7];
                if (n - off >= block) {
                    for (k = 0; k < block; k++)
                        pcm[k] = alaw ? alaw_to_linear(pkt[off + k]) : ulaw_to_linear(pkt[off + k]);
                    jb_put(pts, pcm, depth);
                } else {
                    jb.foreign++;
                }
            } else if (n > 0) {
                jb.foreign++;
            }
            if (now_s() < next_tick)
                continue;
        }
        if (now_s() < next_tick)
            continue;
        next_tick += ptime / 1000.0 / speedup;
        ticks++;

        if (jb_get(rx))
            fax_rx(fax, rx, block);
        else if (fillin)
            fax_rx_fillin(fax, block);
        else
            fax_rx(fax, rx, block); /* silence */
        {
            int n = fax_tx(fax, tx, block), k;
            if (n < block)
                memset(tx + n, 0, (block - n) * sizeof(tx[0]));
            pkt[0] = 0x80;
            pkt[1] = (uint8_t) pt;
            pkt[2] = seq >> 8;
            pkt[3] = seq & 0xff;
            pkt[4] = ts >> 24;
            pkt[5] = ts >> 16;
            pkt[6] = ts >> 8;
            pkt[7] = ts & 0xff;
            pkt[8] = ssrc >> 24;
            pkt[9] = ssrc >> 16;
            pkt[10] = ssrc >> 8;
            pkt[11] = ssrc & 0xff;
            for (k = 0; k < block; k++)
                pkt[12 + k] = alaw ? linear_to_alaw(tx[k]) : linear_to_ulaw(tx[k]);
            if (sendto(fd, pkt, 12 + block, 0, (struct sockaddr *) &ra, sizeof(ra)) == 12 + block)
                sent++;
            seq++;
            ts += block;
        }
        if (phase_e_seen && end_at == 0)
            end_at = ticks + 1000 / ptime; /* a second more: the far end hears our DCN whole */
        if ((end_at && ticks >= end_at) || ticks * ptime / 1000.0 >= timeout_s)
            break;
    }

    t30_get_transfer_statistics(t30, &st);
    printf("{\"ok\":%s,\"phase_e\":%s,\"code\":%d,\"result\":\"%s\","
           "\"pages\":%d,\"bit_rate\":%d,\"ecm\":%s,\"compression\":\"%s\",\"bad_rows\":%d,"
           "\"longest_bad_row_run\":%d,\"ecm_retries\":%d,\"line_ms\":%ld,"
           "\"packets_sent\":%ld,\"packets_received\":%ld,\"missing\":%ld,\"late\":%ld,\"overflow\":%ld,"
           "\"foreign\":%ld,\"resyncs\":%ld}\n",
           phase_e_seen && completion == T30_ERR_OK ? "true" : "false",
           phase_e_seen ? "true" : "false", phase_e_seen ? completion : -1,
           phase_e_seen ? t30_completion_code_to_str(completion) : "no phase E",
           sending ? st.pages_tx : st.pages_rx, st.bit_rate, st.error_correcting_mode ? "true" : "false",
           encoding_name(st.encoding), st.bad_rows, st.longest_bad_row_run,
           st.error_correcting_mode_retries, ticks * ptime, sent, jb.received, jb.missing, jb.late,
           jb.overflow, jb.foreign, jb.resyncs);
    fflush(stdout);
    fax_free(fax);
    close(fd);
    return 0;
}
