/*
 * sipfaxpeer: a SIP + T.38 fax endpoint built on Debian's sofia-sip (nua,
 * the SIP stack FreeSWITCH grew from) and libspandsp's T.38 terminal, used
 * by faxkit's interop tests as an independent SIP fax peer on 127.0.0.1.
 *
 * This is faxkit's own test harness: sofia-sip supplies SIP (transactions,
 * dialogs, digest authentication, registration), spandsp supplies T.30 and
 * the IFP layer (t38_terminal); the SDP offer/answer, the G.711 silence
 * stream, the UDPTL framing, the T.38 switch policy and the accelerated
 * T.38 clock are written here. It is compiled at test time against the
 * system libraries and never linked into faxkit itself.
 *
 * Usage:
 *   sipfaxpeer -role uac|uas -mode send|receive -file F.tif -sip 127.0.0.1:PORT
 *     [-to sip:USER@HOST:PORT]            UAC: whom to call
 *     [-proxy sip:HOST:PORT]              outbound proxy for every request
 *     [-register sip:USER@HOST:PORT -user NAME -password PW]
 *                                         REGISTER (digest) before the call
 *     [-t38 request|await|offer|reject]   request: send the re-INVITE to T.38
 *                                         once the call is up; await: wait for
 *                                         the peer's; offer: T.38 in the
 *                                         initial INVITE; reject: answer a
 *                                         T.38 offer with 488
 *     [-reinvite-delay MS]                wait before the re-INVITE (request)
 *     [-await-timeout MS]                 await: give up without a re-INVITE
 *     [-sdp-style replace|both]           T.38 offer: m=image alone (FreeSWITCH)
 *                                         or m=audio 0 + m=image (RFC 3264)
 *     [-answer-delay MS]                  UAS: ring this long before the 200
 *     [-refresh-after N]                  after N fast-modem IFPs (mid-page),
 *                                         send a re-INVITE with identical SDP
 *     [-session-expires S] [-min-se S]    RFC 4028 session timer (sofia's nua
 *                                         negotiates it, and hangs up when a
 *                                         refresh it awaits does not come)
 *     [-refresher local|remote]           who refreshes (default: nua decides)
 *     [-media audio -codec pcmu|pcma]     audio mode: libspandsp's audio fax
 *                                         engine (fax_state_t: V.21, V.27ter,
 *                                         V.29, V.17, CNG/CED) on G.711 RTP in
 *                                         20 ms packets, in real time, from the
 *                                         moment the call is up; every T.38
 *                                         offer is refused with 488 (-t38 is
 *                                         taken as reject)
 *     [-no-ecm]                           T.30 without error correction
 *     [-transport udp|tcp]                SIP transport to listen on (a UAC's
 *                                         -to names its own with ;transport=)
 *     [-bye first|wait]                   after phase E send BYE at once, or
 *                                         wait up to 3 s for the peer's
 *                                         (default: UAC first, UAS wait)
 *     [-version 0..3] [-max-datagram N] [-ec none|redundancy] [-ec-depth N]
 *     [-loss PERCENT -seed N]             drop outgoing UDPTL datagrams
 *     [-speedup X]                        T.38 clock runs X times real time
 *     [-timeout SECONDS]                  real-time limit of the whole run
 *     [-ident ID] [-v]
 *
 * It prints "sipfaxpeer: ready" on stderr once its SIP socket is bound (and
 * its registration accepted), and one JSON object on stdout when it ends.
 * Exit status: 0 T.30 success; 1 T.30 failure; 2 harness error;
 * 3 T.38 refused (488/415/other final answer to the T.38 offer, or no
 * re-INVITE within -await-timeout); 4 timeout; 5 SIP failure (the INVITE or
 * REGISTER failed, or the peer hung up before T.30 began).
 *
 * Audio leg: until the switch it sends 20 ms PCMU silence RTP packets to the
 * peer's audio address and counts what it receives. T.38 leg: UDPTL with
 * redundancy (T.38 clause 9.1); received fec-info datagrams give their
 * primary IFP only. SIP timers run in real time; only T.30 is accelerated.
 * Glare (RFC 3261 section 14.1): a re-INVITE received while ours is pending
 * is answered 491 (by sofia's nua itself; the check in on_invite is a
 * fallback and counts glare_491_sent); on a 491 the owner of the Call-ID
 * retries after 2.1-4 s, the other side after 0-2 s.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sofia-sip/nua.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/su_wait.h>
#include <sofia-sip/msg_header.h>

#include <tiffio.h>
#include <spandsp.h>

#define MAX_SECONDARIES 8
#define HIST 16
#define MAX_IFP 500

enum { EXIT_OK = 0, EXIT_T30 = 1, EXIT_HARNESS = 2, EXIT_REFUSED = 3, EXIT_TIMEOUT = 4, EXIT_SIP = 5 };
enum { T38_REQUEST, T38_AWAIT, T38_OFFER, T38_REJECT };
enum { MEDIA_NONE, MEDIA_AUDIO, MEDIA_T38 };

/* What an SDP body says, as far as this peer cares. */
struct sdp_info {
    int valid;
    int nm;                     /* m-lines */
    int audio_port, image_port; /* -1 absent, 0 rejected */
    int audio_index, image_index;
    struct in_addr session_addr, audio_addr, image_addr;
    int have_session_addr, have_audio_addr, have_image_addr;
    int t38_version, max_datagram, ec; /* ec: 0 none, 1 redundancy, 2 fec */
};

static struct {
    /* options */
    int uac, sending, t38_mode, sdp_both, bye_first, verbose;
    const char *to, *proxy, *reg, *user, *password, *ident;
    int reinvite_delay_ms, await_timeout_ms, refresh_after, answer_delay_ms;
    int session_expires, min_se, refresher;
    int audio_mode, codec_pt, no_ecm; /* audio fax on G.711 (PT 0 or 8) */
    double speedup, timeout_s;
    int version, max_datagram, ec_depth;
    double loss;
    uint64_t rng;

    /* SIP */
    su_home_t home[1];
    su_root_t *root;
    nua_t *nua;
    nua_handle_t *call, *regh;
    int registered, register_status, register_auth_tries;
    int call_up, call_ended, call_id_owner, invite_status, invite_auth_tries;
    int reinvite_pending, reinvite_is_refresh, reinvites_sent, reinvite_status;
    int reinvites_received, reinvites_rejected, refresh_received, no_sdp_reinvites, updates_received, refresh_mid_fax, updates_sent_ok;
    int glare_491_received, glare_491_sent;
    int refresh_sent, refresh_status;
    int bye_sent, bye_received;
    int offer_in_ack;           /* we offered in a 2xx; the ACK has the answer */
    int shutdown_sent, shutdown_done;
    double reinvite_at, bye_at, await_deadline, deadline, call_up_at, answer_at;
    double grace_until;         /* hung up mid-T.30: let spandsp end its side */
    int t38_switch_ms;

    /* SDP we send */
    unsigned long sess_id, sess_version;
    char local_sdp[2048];
    int local_t38;              /* local_sdp describes T.38 */

    /* media */
    int media;
    int rtp_sock, udptl_sock, rtp_port, udptl_port;
    struct sockaddr_in rtp_remote, udptl_remote;
    int have_rtp_remote, have_udptl_remote;
    long rtp_sent, rtp_received;
    double next_rtp;
    uint16_t rtp_seq;
    uint32_t rtp_ts, rtp_ssrc;

    /* audio fax (fax_state_t) */
    fax_state_t *fax;
    int audio_running;
    long audio_bad_pt;

    /* T.38 */
    int t38_running;
    double next_tick;
    long ticks;
    uint16_t tx_seq;
    uint8_t hist[HIST][MAX_IFP];
    int hist_len[HIST], hist_count;
    int rx_started;
    uint16_t rx_expected;
    long packets_sent, packets_dropped, packets_received, ifp_recovered, ifp_lost, duplicates;
    long fast_ifps;
    int remote_version, remote_max_datagram, remote_ec;
    t38_terminal_state_t *t38;
    t30_state_t *t30;
    t38_core_state_t *core;
    int phase_e_seen, completion;
    double phase_e_at;

    int exit_code;
    const char *result; /* overrides the T.30 result text */
    int done;
} g;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "sipfaxpeer: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    printf("{\"ok\":false,\"result\":\"harness error\",\"code\":-1}\n");
    fflush(stdout);
    exit(EXIT_HARNESS);
}

static void logf_(const char *fmt, ...)
{
    va_list ap;
    if (!g.verbose)
        return;
    va_start(ap, fmt);
    fprintf(stderr, "sipfaxpeer: %.0f ", now_ms());
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
}

static double rnd(void)
{
    /* xorshift64*: deterministic loss and back-off for a given -seed */
    g.rng ^= g.rng >> 12;
    g.rng ^= g.rng << 25;
    g.rng ^= g.rng >> 27;
    return (double) ((g.rng * 2685821657736338717ULL) >> 11) / (double) (1ULL << 53);
}

/* ---- SDP (RFC 4566) ---------------------------------------------------- */

static void build_sdp(int t38)
{
    char *p = g.local_sdp;
    size_t n = sizeof(g.local_sdp);
    int w;

    w = snprintf(p, n,
                 "v=0\r\no=sipfaxpeer %lu %lu IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n",
                 g.sess_id, g.sess_version);
    p += w, n -= w;
    if (!t38 || g.sdp_both || g.t38_mode == T38_OFFER) {
        /* In an initial T.38 offer the audio stream is offered as well, as
           trunks that offer T.38 up front do; in the RFC 3264 style the
           audio line stays, rejected with port 0. */
        int port = (t38 && g.t38_mode != T38_OFFER) ? 0 : g.rtp_port;
        w = snprintf(p, n,
                     "m=audio %d RTP/AVP %d 101\r\na=rtpmap:%d %s/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
                     "a=fmtp:101 0-15\r\na=ptime:20\r\n",
                     port, g.codec_pt, g.codec_pt, g.codec_pt == 8 ? "PCMA" : "PCMU");
        p += w, n -= w;
    }
    if (t38) {
        w = snprintf(p, n,
                     "m=image %d udptl t38\r\na=T38FaxVersion:%d\r\na=T38MaxBitRate:14400\r\n"
                     "a=T38FaxRateManagement:transferredTCF\r\na=T38FaxMaxBuffer:2000\r\n"
                     "a=T38FaxMaxDatagram:%d\r\na=T38FaxUdpEC:%s\r\n",
                     g.udptl_port, g.version, g.max_datagram, g.ec_depth ? "t38UDPRedundancy" : "t38UDPNoEC");
        p += w, n -= w;
    }
    g.local_t38 = t38;
}

/* Answer an offer: the same m-lines in the same order (RFC 3264 section 6),
   T.38 accepted when accept_t38, audio rejected when T.38 is taken. */
static void build_answer(const struct sdp_info *o, int accept_t38)
{
    char *p = g.local_sdp;
    size_t n = sizeof(g.local_sdp);
    int w, i;

    g.sess_version++;
    w = snprintf(p, n,
                 "v=0\r\no=sipfaxpeer %lu %lu IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n",
                 g.sess_id, g.sess_version);
    p += w, n -= w;
    for (i = 0; i < o->nm; i++) {
        if (i == o->audio_index) {
            int port = (accept_t38 && o->image_port > 0) || o->audio_port == 0 ? 0 : g.rtp_port;
            w = snprintf(p, n, "m=audio %d RTP/AVP %d\r\na=rtpmap:%d %s/8000\r\na=ptime:20\r\n", port,
                         g.codec_pt, g.codec_pt, g.codec_pt == 8 ? "PCMA" : "PCMU");
        } else if (i == o->image_index) {
            int v = o->t38_version < g.version ? o->t38_version : g.version;
            int port = accept_t38 && o->image_port > 0 ? g.udptl_port : 0;
            w = snprintf(p, n,
                         "m=image %d udptl t38\r\na=T38FaxVersion:%d\r\na=T38MaxBitRate:14400\r\n"
                         "a=T38FaxRateManagement:transferredTCF\r\na=T38FaxMaxBuffer:2000\r\n"
                         "a=T38FaxMaxDatagram:%d\r\na=T38FaxUdpEC:%s\r\n",
                         port, v, g.max_datagram,
                         o->ec == 0 || g.ec_depth == 0 ? "t38UDPNoEC" : "t38UDPRedundancy");
        } else {
            w = snprintf(p, n, "m=application 0 RTP/AVP 0\r\n");
        }
        p += w, n -= w;
    }
    g.local_t38 = accept_t38 && o->image_port > 0;
}

static void parse_sdp(const char *body, int len, struct sdp_info *s)
{
    const char *p = body, *end = body + len;
    int cur = -1; /* 0 audio, 1 image, 2 other */

    memset(s, 0, sizeof(*s));
    s->audio_port = s->image_port = -1;
    s->audio_index = s->image_index = -1;
    s->ec = 1;
    s->max_datagram = 0;
    if (!body || len <= 0)
        return;
    s->valid = 1;
    while (p < end) {
        const char *nl = memchr(p, '\n', end - p);
        char line[512];
        int l = (int) ((nl ? nl : end) - p);
        if (l > 0 && p[l - 1] == '\r')
            l--;
        if (l >= (int) sizeof(line))
            l = sizeof(line) - 1;
        memcpy(line, p, l);
        line[l] = 0;
        p = nl ? nl + 1 : end;
        if (strncmp(line, "m=", 2) == 0) {
            int port = 0;
            char type[32] = "";
            sscanf(line + 2, "%31s %d", type, &port);
            if (strcmp(type, "audio") == 0 && s->audio_index < 0) {
                cur = 0;
                s->audio_port = port;
                s->audio_index = s->nm;
            } else if (strcmp(type, "image") == 0 && s->image_index < 0 && strstr(line, "t38")) {
                cur = 1;
                s->image_port = port;
                s->image_index = s->nm;
            } else {
                cur = 2;
            }
            s->nm++;
        } else if (strncmp(line, "c=IN IP4 ", 9) == 0) {
            struct in_addr a;
            char host[64] = "";
            sscanf(line + 9, "%63[^/ ]", host);
            if (inet_pton(AF_INET, host, &a) != 1)
                continue;
            if (cur < 0)
                s->session_addr = a, s->have_session_addr = 1;
            else if (cur == 0)
                s->audio_addr = a, s->have_audio_addr = 1;
            else if (cur == 1)
                s->image_addr = a, s->have_image_addr = 1;
        } else if (cur == 1 && strncasecmp(line, "a=T38FaxVersion:", 16) == 0) {
            s->t38_version = atoi(line + 16);
        } else if (cur == 1 && strncasecmp(line, "a=T38FaxMaxDatagram:", 20) == 0) {
            s->max_datagram = atoi(line + 20);
        } else if (cur == 1 && strncasecmp(line, "a=T38MaxDatagram:", 17) == 0) {
            s->max_datagram = atoi(line + 17);
        } else if (cur == 1 && strncasecmp(line, "a=T38FaxUdpEC:", 14) == 0) {
            const char *v = line + 14;
            s->ec = strcasestr(v, "FEC") ? 2 : strcasestr(v, "Redundancy") ? 1 : 0;
        }
    }
}

static void set_remote(const struct sdp_info *s)
{
    struct in_addr a;
    if (s->audio_port > 0 && (s->have_audio_addr || s->have_session_addr)) {
        a = s->have_audio_addr ? s->audio_addr : s->session_addr;
        memset(&g.rtp_remote, 0, sizeof(g.rtp_remote));
        g.rtp_remote.sin_family = AF_INET;
        g.rtp_remote.sin_addr = a;
        g.rtp_remote.sin_port = htons((uint16_t) s->audio_port);
        g.have_rtp_remote = 1;
    }
    if (s->image_port > 0 && (s->have_image_addr || s->have_session_addr)) {
        a = s->have_image_addr ? s->image_addr : s->session_addr;
        memset(&g.udptl_remote, 0, sizeof(g.udptl_remote));
        g.udptl_remote.sin_family = AF_INET;
        g.udptl_remote.sin_addr = a;
        g.udptl_remote.sin_port = htons((uint16_t) s->image_port);
        g.have_udptl_remote = 1;
        g.remote_version = s->t38_version;
        g.remote_max_datagram = s->max_datagram;
        g.remote_ec = s->ec;
    }
}

/* ---- UDPTL (T.38 clause 9) --------------------------------------------- */

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
    if ((b[*pos] & 0xC0) == 0xC0 || *pos + 1 >= len)
        return -1;
    *n = ((b[*pos] & 0x3F) << 8) | b[*pos + 1];
    *pos += 2;
    return 0;
}

/* The smallest plausible reading of the peer's T38FaxMaxDatagram (some
   stacks mean the IFP, some the UDPTL datagram): never exceed it. */
static int datagram_limit(void)
{
    int m = g.max_datagram;
    if (g.remote_max_datagram > 0 && g.remote_max_datagram < m)
        m = g.remote_max_datagram;
    return m < 100 ? 100 : m;
}

static void udptl_send(const uint8_t *ifp, int ifp_len)
{
    uint8_t buf[2048];
    int len = 0, i, entries, depth = g.remote_ec == 0 ? 0 : g.ec_depth;

    if (ifp_len > MAX_IFP)
        die("IFP of %d octets is larger than this harness handles", ifp_len);
    buf[len++] = (uint8_t) (g.tx_seq >> 8);
    buf[len++] = (uint8_t) g.tx_seq;
    len += put_len(buf + len, ifp_len);
    memcpy(buf + len, ifp, ifp_len);
    len += ifp_len;
    buf[len++] = 0x00; /* error-recovery: secondary-ifp-packets */
    entries = depth < g.hist_count ? depth : g.hist_count;
    for (;;) {
        int need = len + 1;
        for (i = 0; i < entries; i++) {
            int j = (g.tx_seq - 1 - i) & (HIST - 1);
            need += (g.hist_len[j] < 0x80 ? 1 : 2) + g.hist_len[j];
        }
        if (need <= datagram_limit() || entries == 0)
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
    if (!g.have_udptl_remote)
        return;
    if (sendto(g.udptl_sock, buf, len, 0, (struct sockaddr *) &g.udptl_remote, sizeof(g.udptl_remote)) < 0 &&
        errno != ECONNREFUSED)
        die("sendto: %s", strerror(errno));
    g.packets_sent++;
}

/* A fast-modem data IFP (t30-data of a V.27ter/V.29/V.17 type): image data. */
static int fast_data(const uint8_t *b, int len)
{
    return len > 0 && (b[0] & 0x40) && ((b[0] >> 1) & 0x0F) != 0;
}

static void maybe_refresh(void);

static int tx_packet_handler(t38_core_state_t *s, void *user_data, const uint8_t *buf, int len, int count)
{
    int i;
    if (g.t38_switch_ms < 0 && g.call_up_at > 0)
        g.t38_switch_ms = (int) (now_ms() - g.call_up_at);
    if (fast_data(buf, len)) {
        g.fast_ifps++;
        maybe_refresh();
    }
    for (i = 0; i < count; i++)
        udptl_send(buf, len);
    return 0;
}

static void deliver(const uint8_t *ifp, int len, uint16_t seq)
{
    if (fast_data(ifp, len)) {
        g.fast_ifps++;
        maybe_refresh();
    }
    t38_core_rx_ifp_packet(g.core, ifp, len, seq);
}

static void udptl_receive(const uint8_t *b, int len)
{
    int pos = 2, n, i, plen, nsec = 0;
    uint16_t seq;
    const uint8_t *primary, *sec[MAX_SECONDARIES];
    int sec_len[MAX_SECONDARIES];

    if (len < 3)
        return;
    if (g.t38_switch_ms < 0 && g.call_up_at > 0)
        g.t38_switch_ms = (int) (now_ms() - g.call_up_at);
    seq = (uint16_t) ((b[0] << 8) | b[1]);
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
    } /* fec-info: this harness uses the primary only */
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
            int back = (uint16_t) (seq - g.rx_expected);
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

/* ---- media sockets ----------------------------------------------------- */

static int bind_any(int *port)
{
    struct sockaddr_in a;
    socklen_t l = sizeof(a);
    int s = socket(AF_INET, SOCK_DGRAM, 0), rcvbuf = 4 << 20;
    if (s < 0)
        die("socket: %s", strerror(errno));
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(s, (struct sockaddr *) &a, sizeof(a)) < 0)
        die("bind: %s", strerror(errno));
    getsockname(s, (struct sockaddr *) &a, &l);
    *port = ntohs(a.sin_port);
    setsockopt(s, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    return s;
}

/* An RTP packet (RFC 3550 section 5.1) of the audio fax: G.711 of our
   payload type into fax_rx. Packets are played as they arrive (loopback
   keeps them in order). */
static void audio_receive(const uint8_t *b, int len)
{
    int16_t pcm[1024];
    int hdr, i, n;
    if (len < 12 || (b[0] & 0xC0) != 0x80)
        return;
    if ((b[1] & 0x7F) != g.codec_pt) {
        g.audio_bad_pt++; /* telephone-event, comfort noise: not fax */
        return;
    }
    hdr = 12 + 4 * (b[0] & 0x0F);
    if ((b[0] & 0x10) && len >= hdr + 4)
        hdr += 4 + 4 * ((b[hdr + 2] << 8) | b[hdr + 3]);
    n = len - hdr;
    if ((b[0] & 0x20) && n > 0)
        n -= b[len - 1];
    if (n <= 0)
        return;
    if (n > (int) (sizeof(pcm) / sizeof(pcm[0])))
        n = sizeof(pcm) / sizeof(pcm[0]);
    for (i = 0; i < n; i++)
        pcm[i] = g.codec_pt == 8 ? alaw_to_linear(b[hdr + i]) : ulaw_to_linear(b[hdr + i]);
    fax_rx(g.fax, pcm, n);
}

static void drain_sockets(void)
{
    uint8_t b[2048];
    ssize_t n;
    while ((n = recv(g.rtp_sock, b, sizeof(b), MSG_DONTWAIT)) > 0) {
        g.rtp_received++;
        if (g.audio_running)
            audio_receive(b, (int) n);
    }
    while ((n = recv(g.udptl_sock, b, sizeof(b), MSG_DONTWAIT)) > 0)
        udptl_receive(b, (int) n);
}

static int on_socket(su_root_magic_t *m, su_wait_t *w, su_wakeup_arg_t *arg)
{
    su_wait_events(w, *(int *) arg);
    drain_sockets();
    return 0;
}

static void send_rtp_silence(void)
{
    uint8_t b[12 + 160];
    b[0] = 0x80;
    b[1] = 0; /* PCMU */
    b[2] = (uint8_t) (g.rtp_seq >> 8);
    b[3] = (uint8_t) g.rtp_seq;
    b[4] = (uint8_t) (g.rtp_ts >> 24);
    b[5] = (uint8_t) (g.rtp_ts >> 16);
    b[6] = (uint8_t) (g.rtp_ts >> 8);
    b[7] = (uint8_t) g.rtp_ts;
    b[8] = (uint8_t) (g.rtp_ssrc >> 24);
    b[9] = (uint8_t) (g.rtp_ssrc >> 16);
    b[10] = (uint8_t) (g.rtp_ssrc >> 8);
    b[11] = (uint8_t) g.rtp_ssrc;
    b[1] = (uint8_t) g.codec_pt;
    if (g.audio_running) {
        int16_t amp[160];
        int i, k = fax_tx(g.fax, amp, 160);
        for (i = k; i < 160; i++)
            amp[i] = 0;
        for (i = 0; i < 160; i++)
            b[12 + i] = g.codec_pt == 8 ? linear_to_alaw(amp[i]) : linear_to_ulaw(amp[i]);
    } else {
        memset(b + 12, g.codec_pt == 8 ? 0xD5 : 0xFF, 160); /* G.711 silence */
    }
    g.rtp_seq++;
    g.rtp_ts += 160;
    if (sendto(g.rtp_sock, b, sizeof(b), 0, (struct sockaddr *) &g.rtp_remote, sizeof(g.rtp_remote)) >= 0)
        g.rtp_sent++;
}

/* ---- call control ------------------------------------------------------ */

static void finish(int code, const char *result)
{
    if (g.done)
        return;
    g.exit_code = code;
    if (result)
        g.result = result;
    g.done = 1;
}

static void hangup(void)
{
    if (g.call && g.call_up && !g.bye_sent && !g.bye_received && !g.call_ended) {
        logf_("sending BYE");
        g.bye_sent = 1;
        nua_bye(g.call, TAG_END());
    } else if (g.call && !g.call_up && !g.call_ended && g.uac) {
        nua_cancel(g.call, TAG_END());
    }
}

static void start_t38(void)
{
    if (g.t38_running)
        return;
    logf_("T.38 starts");
    g.media = MEDIA_T38;
    g.t38_running = 1;
    if (g.remote_version < g.version)
        t38_set_t38_version(g.core, g.remote_version);
    t38_set_max_datagram_size(g.core, datagram_limit());
    g.next_tick = now_ms();
}

static void send_reinvite(int refresh)
{
    if (g.reinvite_pending || !g.call_up || g.call_ended || g.bye_sent || g.bye_received)
        return;
    if (!refresh) {
        g.sess_version++;
        build_sdp(1);
    } /* a refresh repeats the same SDP, version unchanged (RFC 3264 section 8) */
    g.reinvite_pending = 1;
    g.reinvite_is_refresh = refresh;
    if (refresh)
        g.refresh_sent++;
    else
        g.reinvites_sent++;
    logf_("sending %s re-INVITE", refresh ? "refresh" : "T.38");
    nua_invite(g.call, SIPTAG_CONTENT_TYPE_STR("application/sdp"), SIPTAG_PAYLOAD_STR(g.local_sdp), TAG_END());
}

static void maybe_refresh(void)
{
    if (g.refresh_after > 0 && !g.refresh_sent && g.fast_ifps >= g.refresh_after && !g.reinvite_pending)
        send_reinvite(1);
}

static void on_call_up(void)
{
    if (g.call_up)
        return;
    g.call_up = 1;
    g.call_up_at = now_ms();
    logf_("call up");
    if (g.media == MEDIA_T38) {
        start_t38();
        return;
    }
    if (g.audio_mode) {
        /* A fax machine on a voice line: T.30 starts as the call is up. */
        logf_("audio fax starts");
        g.audio_running = 1;
        return;
    }
    if (g.t38_mode == T38_REQUEST)
        g.reinvite_at = now_ms() + g.reinvite_delay_ms;
    else if (g.t38_mode != T38_OFFER)
        g.await_deadline = now_ms() + g.await_timeout_ms;
}

static void authenticate(nua_handle_t *nh, sip_t const *sip, int *tries)
{
    char const *realm = NULL, *scheme = "Digest";
    char cred[512];
    if (sip && sip->sip_www_authenticate) {
        realm = msg_params_find(sip->sip_www_authenticate->au_params, "realm=");
        scheme = sip->sip_www_authenticate->au_scheme;
    } else if (sip && sip->sip_proxy_authenticate) {
        realm = msg_params_find(sip->sip_proxy_authenticate->au_params, "realm=");
        scheme = sip->sip_proxy_authenticate->au_scheme;
    }
    if (!realm || !g.user || !g.password || ++*tries > 2) {
        *tries = 99;
        return;
    }
    snprintf(cred, sizeof(cred), "%s:%s:%s:%s", scheme, realm, g.user, g.password);
    nua_authenticate(nh, NUTAG_AUTH(cred), TAG_END());
}

/* Answer an INVITE with g.local_sdp: at once for a re-INVITE, after 180
   and -answer-delay for a new call. */
static void answer(nua_handle_t *nh, int reinvite)
{
    if (!reinvite) {
        nua_respond(nh, SIP_180_RINGING, TAG_END());
        if (g.answer_delay_ms > 0) {
            g.answer_at = now_ms() + g.answer_delay_ms;
            return;
        }
    }
    nua_respond(nh, SIP_200_OK, SIPTAG_CONTENT_TYPE_STR("application/sdp"), SIPTAG_PAYLOAD_STR(g.local_sdp),
                TAG_END());
}

/* An INVITE or re-INVITE arrived on the call. */
static void on_invite(nua_handle_t *nh, sip_t const *sip)
{
    struct sdp_info o;
    int reinvite = g.call_up;

    if (!reinvite && g.call && nh != g.call) {
        nua_respond(nh, 486, "Busy Here", TAG_END());
        nua_handle_destroy(nh);
        return;
    }
    if (reinvite && g.reinvite_pending) {
        /* RFC 3261 section 14.2: an INVITE while ours is outstanding. */
        g.glare_491_sent++;
        logf_("glare: answering 491");
        nua_respond(nh, SIP_491_REQUEST_PENDING, TAG_END());
        return;
    }
    g.call = nh;
    parse_sdp(sip && sip->sip_payload ? sip->sip_payload->pl_data : NULL,
              sip && sip->sip_payload ? (int) sip->sip_payload->pl_len : 0, &o);
    if (reinvite)
        g.reinvites_received++;
    if (!o.valid) {
        /* No offer (delayed offer): ours goes in the 2xx, the answer in the ACK. */
        if (reinvite)
            g.no_sdp_reinvites++;
        else
            build_sdp(g.t38_mode == T38_OFFER);
        g.offer_in_ack = 1;
        answer(nh, reinvite);
        return;
    }
    if (o.image_port > 0) {
        if (g.t38_mode == T38_REJECT) {
            g.reinvites_rejected++;
            logf_("rejecting T.38 with 488");
            nua_respond(nh, SIP_488_NOT_ACCEPTABLE, TAG_END());
            if (!reinvite)
                finish(EXIT_REFUSED, "t38-refused");
            return;
        }
        if (g.media == MEDIA_T38 && g.local_t38 && reinvite) {
            /* A refresh: answer with our SDP unchanged. */
            g.refresh_received++;
            if (g.t38_running && !g.phase_e_seen)
                g.refresh_mid_fax++;
            set_remote(&o);
            nua_respond(nh, SIP_200_OK, SIPTAG_CONTENT_TYPE_STR("application/sdp"),
                        SIPTAG_PAYLOAD_STR(g.local_sdp), TAG_END());
            return;
        }
        build_answer(&o, 1);
        set_remote(&o);
        g.media = MEDIA_T38;
        answer(nh, reinvite);
        if (reinvite)
            start_t38();
        return;
    }
    if (o.audio_port <= 0) {
        nua_respond(nh, SIP_488_NOT_ACCEPTABLE, TAG_END());
        return;
    }
    if (g.media == MEDIA_T38 && reinvite) {
        /* Back to audio is not something this peer does. */
        nua_respond(nh, SIP_488_NOT_ACCEPTABLE, TAG_END());
        return;
    }
    build_answer(&o, 0);
    set_remote(&o);
    g.media = MEDIA_AUDIO;
    answer(nh, reinvite);
}

/* The answer to our INVITE or re-INVITE. */
static void on_invite_response(int status, nua_handle_t *nh, sip_t const *sip)
{
    struct sdp_info a;
    int re = g.reinvite_pending;

    if (status < 200)
        return;
    if (g.call_up && !re) {
        /* nua's own session refresh (RFC 4028, we are the refresher): a
           re-INVITE it sent by itself, not ours. */
        if (status < 300)
            g.updates_sent_ok++;
        return;
    }
    if (status == 401 || status == 407) {
        authenticate(nh, sip, &g.invite_auth_tries);
        if (g.invite_auth_tries < 99)
            return;
    }
    parse_sdp(sip && sip->sip_payload ? sip->sip_payload->pl_data : NULL,
              sip && sip->sip_payload ? (int) sip->sip_payload->pl_len : 0, &a);
    if (!re) {
        g.invite_status = status;
        if (status >= 300) {
            finish(g.t38_mode == T38_OFFER && status == 488 ? EXIT_REFUSED : EXIT_SIP,
                   g.t38_mode == T38_OFFER && status == 488 ? "t38-refused" : "invite failed");
            g.call_ended = 1;
            return;
        }
        set_remote(&a);
        g.media = g.local_t38 && a.image_port > 0 ? MEDIA_T38 : MEDIA_AUDIO;
        on_call_up();
        return;
    }
    g.reinvite_pending = 0;
    if (g.reinvite_is_refresh)
        g.refresh_status = status;
    else
        g.reinvite_status = status;
    if (status == 491) {
        /* RFC 3261 section 14.1 */
        double wait = g.call_id_owner ? 2100 + rnd() * 1900 : rnd() * 2000;
        g.glare_491_received++;
        logf_("491: retrying in %.0f ms", wait);
        if (g.reinvite_is_refresh)
            g.refresh_sent--;
        else
            g.reinvites_sent--;
        if (!g.reinvite_is_refresh && g.media != MEDIA_T38)
            g.reinvite_at = now_ms() + wait;
        return;
    }
    if (g.reinvite_is_refresh)
        return;
    if (status >= 300 || a.image_port <= 0) {
        logf_("T.38 refused: %d", status);
        finish(EXIT_REFUSED, "t38-refused");
        hangup();
        return;
    }
    set_remote(&a);
    start_t38();
}

static void callback(nua_event_t event, int status, char const *phrase, nua_t *nua, nua_magic_t *magic,
                     nua_handle_t *nh, nua_hmagic_t *hmagic, sip_t const *sip, tagi_t tags[])
{
    logf_("event %s %d %s", nua_event_name(event), status, phrase ? phrase : "");
    switch (event) {
    case nua_r_register:
        if (status == 401 || status == 407) {
            authenticate(nh, sip, &g.register_auth_tries);
            if (g.register_auth_tries < 99)
                break;
        }
        if (status >= 200) {
            g.register_status = status;
            if (status < 300) {
                if (!g.registered) {
                    g.registered = 1;
                    fprintf(stderr, "sipfaxpeer: ready\n");
                    fflush(stderr);
                }
            } else if (!g.registered) {
                finish(EXIT_SIP, "register failed");
            }
        }
        break;
    case nua_i_invite:
        on_invite(nh, sip);
        break;
    case nua_r_invite:
        on_invite_response(status, nh, sip);
        break;
    case nua_i_ack:
        if (g.offer_in_ack) {
            struct sdp_info a;
            g.offer_in_ack = 0;
            parse_sdp(sip && sip->sip_payload ? sip->sip_payload->pl_data : NULL,
                      sip && sip->sip_payload ? (int) sip->sip_payload->pl_len : 0, &a);
            set_remote(&a);
            if (g.local_t38 && a.image_port > 0) {
                g.media = MEDIA_T38;
                if (g.call_up)
                    start_t38();
            } else if (!g.call_up) {
                g.media = MEDIA_AUDIO;
            }
        }
        on_call_up();
        break;
    case nua_r_update:
        /* nua's own session refresh by UPDATE (we are the refresher) */
        if (status >= 200 && status < 300)
            g.updates_sent_ok++;
        break;
    case nua_i_update:
        /* nua answers it (a session refresh, RFC 4028) */
        g.updates_received++;
        g.refresh_received++;
        if (g.t38_running && !g.phase_e_seen)
            g.refresh_mid_fax++;
        break;
    case nua_i_bye:
        g.bye_received = 1;
        g.call_ended = 1;
        break;
    case nua_r_bye:
        if (status >= 200)
            g.call_ended = 1;
        break;
    case nua_i_cancel:
        g.call_ended = 1;
        finish(EXIT_SIP, "cancelled");
        break;
    case nua_i_state: {
        int state = nua_callstate_init;
        tl_gets(tags, NUTAG_CALLSTATE_REF(state), TAG_END());
        if (state == nua_callstate_terminated && nh == g.call)
            g.call_ended = 1;
        break;
    }
    case nua_r_shutdown:
        if (status >= 200)
            g.shutdown_done = 1;
        break;
    default:
        break;
    }
}

static void phase_e_handler(t30_state_t *s, void *user_data, int completion_code)
{
    g.phase_e_seen = 1;
    g.completion = completion_code;
    g.phase_e_at = now_ms();
    logf_("phase E: %s", t30_completion_code_to_str(completion_code));
}

static void log_handler(int level, const char *text)
{
    fputs(text, stderr);
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

static void report(void)
{
    t30_stats_t st;
    int ok = g.phase_e_seen && g.completion == T30_ERR_OK;
    const char *result = g.result ? g.result
                         : g.phase_e_seen ? t30_completion_code_to_str(g.completion)
                                          : "no phase E";
    t30_get_transfer_statistics(g.t30, &st);
    printf("{\"ok\":%s,\"phase_e\":%s,\"code\":%d,\"result\":", ok ? "true" : "false",
           g.phase_e_seen ? "true" : "false", g.phase_e_seen ? g.completion : -1);
    json_string(result);
    printf(",\"exit\":%d,\"pages\":%d,\"bit_rate\":%d,\"ecm\":%s,\"media\":\"%s\",\"invite_status\":%d,"
           "\"register_status\":%d,\"reinvites_sent\":%d,\"reinvite_status\":%d,\"reinvites_received\":%d,"
           "\"reinvites_rejected\":%d,\"no_sdp_reinvites\":%d,\"glare_491_sent\":%d,\"glare_491_received\":%d,"
           "\"refresh_sent\":%d,\"refresh_status\":%d,\"refresh_received\":%d,\"bye_sent\":%s,"
           "\"bye_received\":%s,\"t38_switch_ms\":%d,\"t38_version\":%d,\"remote_max_datagram\":%d,"
           "\"rtp_sent\":%ld,\"rtp_received\":%ld,\"packets_sent\":%ld,\"packets_dropped\":%ld,"
           "\"packets_received\":%ld,\"ifp_recovered\":%ld,\"ifp_lost\":%ld,\"duplicates\":%ld,"
           "\"virtual_ms\":%ld,\"updates_received\":%d,\"refresh_mid_fax\":%d,\"session_refresh_ok\":%d,\"remote_ident\":",
           g.exit_code, g.sending ? st.pages_tx : st.pages_rx, st.bit_rate,
           st.error_correcting_mode ? "true" : "false",
           g.media == MEDIA_T38 ? "t38" : g.media == MEDIA_AUDIO ? "audio" : "none", g.invite_status,
           g.register_status, g.reinvites_sent, g.reinvite_status, g.reinvites_received, g.reinvites_rejected,
           g.no_sdp_reinvites, g.glare_491_sent, g.glare_491_received, g.refresh_sent, g.refresh_status,
           g.refresh_received, g.bye_sent ? "true" : "false", g.bye_received ? "true" : "false", g.t38_switch_ms,
           g.remote_version < g.version ? g.remote_version : g.version, g.remote_max_datagram, g.rtp_sent,
           g.rtp_received, g.packets_sent, g.packets_dropped, g.packets_received, g.ifp_recovered, g.ifp_lost,
           g.duplicates, g.ticks * 20, g.updates_received, g.refresh_mid_fax, g.updates_sent_ok);
    json_string(t30_get_rx_ident(g.t30) ? t30_get_rx_ident(g.t30) : "");
    printf("}\n");
    fflush(stdout);
}

int main(int argc, char **argv)
{
    const char *role = NULL, *mode = NULL, *file = NULL, *sip_addr = NULL, *t38 = "request", *bye = NULL;
    const char *ec = "redundancy", *style = "replace", *transport = "udp";
    char url[256];
    int i, calling, modems, comp;
    logging_state_t *logs[2];
    su_wait_t w_rtp, w_udptl;
    static int ev_in = SU_WAIT_IN;

    g.speedup = 1;
    g.timeout_s = 60;
    g.max_datagram = 400;
    g.ec_depth = 3;
    g.await_timeout_ms = 10000;
    g.ident = "sipfaxpeer";
    g.rng = 0x9E3779B97F4A7C15ULL;
    g.t38_switch_ms = -1;
    g.remote_version = 3;
    g.remote_ec = 1;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = (i + 1 < argc) ? argv[i + 1] : NULL;
#define OPT(name) (strcmp(a, name) == 0 && v && (i++, 1))
        if (OPT("-role")) role = v;
        else if (OPT("-mode")) mode = v;
        else if (OPT("-file")) file = v;
        else if (OPT("-sip")) sip_addr = v;
        else if (OPT("-to")) g.to = v;
        else if (OPT("-proxy")) g.proxy = v;
        else if (OPT("-register")) g.reg = v;
        else if (OPT("-user")) g.user = v;
        else if (OPT("-password")) g.password = v;
        else if (OPT("-t38")) t38 = v;
        else if (OPT("-reinvite-delay")) g.reinvite_delay_ms = atoi(v);
        else if (OPT("-await-timeout")) g.await_timeout_ms = atoi(v);
        else if (OPT("-sdp-style")) style = v;
        else if (OPT("-refresh-after")) g.refresh_after = atoi(v);
        else if (OPT("-answer-delay")) g.answer_delay_ms = atoi(v);
        else if (OPT("-session-expires")) g.session_expires = atoi(v);
        else if (OPT("-transport")) transport = v;
        else if (OPT("-media")) g.audio_mode = strcmp(v, "audio") == 0;
        else if (OPT("-codec")) g.codec_pt = strcmp(v, "pcma") == 0 ? 8 : 0;
        else if (strcmp(a, "-no-ecm") == 0) g.no_ecm = 1;
        else if (OPT("-min-se")) g.min_se = atoi(v);
        else if (OPT("-refresher")) g.refresher = strcmp(v, "local") == 0 ? nua_local_refresher
                                                  : strcmp(v, "remote") == 0 ? nua_remote_refresher
                                                                            : nua_no_refresher;
        else if (OPT("-bye")) bye = v;
        else if (OPT("-version")) g.version = atoi(v);
        else if (OPT("-max-datagram")) g.max_datagram = atoi(v);
        else if (OPT("-ec")) ec = v;
        else if (OPT("-ec-depth")) g.ec_depth = atoi(v);
        else if (OPT("-loss")) g.loss = atof(v);
        else if (OPT("-seed")) g.rng ^= strtoull(v, NULL, 10) * 0xD1B54A32D192ED03ULL + 1;
        else if (OPT("-speedup")) g.speedup = atof(v);
        else if (OPT("-timeout")) g.timeout_s = atof(v);
        else if (OPT("-ident")) g.ident = v;
        else if (strcmp(a, "-v") == 0) g.verbose = 1;
        else die("unknown or incomplete option %s", a);
    }
    if (!role || !mode || !file || !sip_addr)
        die("need -role, -mode, -file and -sip");
    g.uac = strcmp(role, "uac") == 0;
    if (!g.uac && strcmp(role, "uas") != 0)
        die("-role must be uac or uas");
    g.sending = strcmp(mode, "send") == 0;
    if (!g.sending && strcmp(mode, "receive") != 0)
        die("-mode must be send or receive");
    if (g.uac && !g.to)
        die("a UAC needs -to");
    if (strcmp(t38, "request") == 0) g.t38_mode = T38_REQUEST;
    else if (strcmp(t38, "await") == 0) g.t38_mode = T38_AWAIT;
    else if (strcmp(t38, "offer") == 0) g.t38_mode = T38_OFFER;
    else if (strcmp(t38, "reject") == 0) g.t38_mode = T38_REJECT;
    else die("-t38 must be request, await, offer or reject");
    if (strcmp(transport, "udp") != 0 && strcmp(transport, "tcp") != 0)
        die("-transport must be udp or tcp");
    if (g.audio_mode) {
        g.t38_mode = T38_REJECT;
        if (g.speedup != 1)
            die("audio mode runs in real time (-speedup 1)");
    }
    if (strcmp(style, "both") == 0) g.sdp_both = 1;
    else if (strcmp(style, "replace") != 0) die("-sdp-style must be replace or both");
    g.bye_first = bye ? strcmp(bye, "first") == 0 : g.uac;
    if (strcmp(ec, "none") == 0) g.ec_depth = 0;
    else if (strcmp(ec, "redundancy") != 0) die("-ec must be none or redundancy");
    if (g.ec_depth > MAX_SECONDARIES) g.ec_depth = MAX_SECONDARIES;
    if (g.max_datagram < 100 || g.max_datagram > 1400) g.max_datagram = 400;
    if (g.speedup <= 0) die("-speedup must be positive");
    if (g.version < 0 || g.version > 3) die("-version must be 0..3");

    /* media sockets */
    g.rtp_sock = bind_any(&g.rtp_port);
    g.udptl_sock = bind_any(&g.udptl_port);
    g.sess_id = (unsigned long) time(NULL) ^ ((unsigned long) getpid() << 8);
    g.sess_version = 1;
    g.rtp_ssrc = (uint32_t) g.sess_id;

    /* T.38 terminal: T.30 roles follow the fax direction (the sender calls). */
    calling = g.sending;
    g.t38 = t38_terminal_init(NULL, calling, tx_packet_handler, NULL);
    if (!g.t38)
        die("t38_terminal_init failed");
    g.t30 = t38_terminal_get_t30_state(g.t38);
    g.core = t38_terminal_get_t38_core_state(g.t38);
    if (g.audio_mode) {
        /* T.30 runs on the audio fax engine instead; the T.38 terminal
           stays idle (T.38 offers are refused). */
        g.fax = fax_init(NULL, calling);
        if (!g.fax)
            die("fax_init failed");
        fax_set_transmit_on_idle(g.fax, 1);
        fax_set_tep_mode(g.fax, 0);
        g.t30 = fax_get_t30_state(g.fax);
    }
    t38_set_t38_version(g.core, g.version);
    t38_set_max_datagram_size(g.core, g.max_datagram);
    t38_terminal_set_config(g.t38, 0);
    t38_terminal_set_tep_mode(g.t38, 0);
    logs[0] = t30_get_logging_state(g.t30);
    logs[1] = t38_core_get_logging_state(g.core);
    for (i = 0; i < 2; i++) {
        span_log_set_message_handler(logs[i], log_handler);
        span_log_set_level(logs[i], g.verbose ? SPAN_LOG_SHOW_SEVERITY | SPAN_LOG_SHOW_PROTOCOL | SPAN_LOG_FLOW : 0);
    }
    modems = T30_SUPPORT_V27TER | T30_SUPPORT_V29 | T30_SUPPORT_V17;
    comp = T30_SUPPORT_T4_1D_COMPRESSION | T30_SUPPORT_T4_2D_COMPRESSION | T30_SUPPORT_T6_COMPRESSION;
    t30_set_supported_modems(g.t30, modems);
    t30_set_supported_compressions(g.t30, comp);
    t30_set_ecm_capability(g.t30, !g.no_ecm);
    t30_set_tx_ident(g.t30, g.ident);
    t30_set_phase_e_handler(g.t30, phase_e_handler, NULL);
    if (g.sending)
        t30_set_tx_file(g.t30, file, -1, -1);
    else
        t30_set_rx_file(g.t30, file, -1);

    /* SIP */
    su_init();
    su_home_init(g.home);
    g.root = su_root_create(NULL);
    if (!g.root)
        die("su_root_create failed");
    snprintf(url, sizeof(url), "sip:%s;transport=%s", sip_addr, transport);
    g.nua = nua_create(g.root, callback, NULL, NUTAG_URL(url), NUTAG_MEDIA_ENABLE(0),
                       NUTAG_OUTBOUND("no-outbound no-validate no-natify no-options-keepalive"),
                       TAG_IF(g.proxy, NUTAG_PROXY(g.proxy)), TAG_IF(g.user, NUTAG_M_USERNAME(g.user)),
                       SIPTAG_USER_AGENT_STR("faxkit-sipfaxpeer (sofia-sip)"),
                       TAG_IF(g.session_expires, NUTAG_SESSION_TIMER(g.session_expires)),
                       TAG_IF(g.min_se, NUTAG_MIN_SE(g.min_se)),
                       TAG_IF(g.refresher, NUTAG_SESSION_REFRESHER(g.refresher)), TAG_END());
    if (!g.nua)
        die("nua_create on %s failed (port in use?)", url);
    su_wait_create(&w_rtp, g.rtp_sock, SU_WAIT_IN);
    su_wait_create(&w_udptl, g.udptl_sock, SU_WAIT_IN);
    su_root_register(g.root, &w_rtp, on_socket, &ev_in, 0);
    su_root_register(g.root, &w_udptl, on_socket, &ev_in, 0);

    g.deadline = now_ms() + g.timeout_s * 1000.0;
    if (g.reg) {
        char registrar[256];
        const char *at = strchr(g.reg, '@');
        snprintf(registrar, sizeof(registrar), "sip:%s", at ? at + 1 : g.reg + 4);
        g.regh = nua_handle(g.nua, NULL, SIPTAG_TO_STR(g.reg), SIPTAG_FROM_STR(g.reg), TAG_END());
        nua_register(g.regh, NUTAG_REGISTRAR(registrar), SIPTAG_EXPIRES_STR("300"), TAG_END());
    } else {
        g.registered = 1;
        fprintf(stderr, "sipfaxpeer: ready\n");
        fflush(stderr);
    }

    while (!g.shutdown_done) {
        double now = now_ms(), next = now + 20;
        int wait;

        if (g.done && !g.shutdown_sent) {
            /* Hang up what is left, give the BYE a moment, then shut down. */
            hangup();
            if (g.call_ended || !g.call || now > g.deadline + 3000) {
                g.shutdown_sent = 1;
                nua_shutdown(g.nua);
            }
        }
        if (now > g.deadline + 8000)
            break; /* shutdown itself hung */
        if (!g.done && now > g.deadline) {
            finish(EXIT_TIMEOUT, "timeout");
            continue;
        }
        if (!g.done && g.uac && g.registered && !g.call) {
            build_sdp(g.t38_mode == T38_OFFER);
            g.call_id_owner = 1;
            char from[256] = "";
            if (g.user) {
                /* From carries the user whose credentials we hold, at the
                   host we call (the proxy or registrar checks it). */
                const char *host = strchr(g.to, '@');
                snprintf(from, sizeof(from), "<sip:%s@%s>", g.user, host ? host + 1 : g.to + 4);
            }
            g.call = nua_handle(g.nua, NULL, SIPTAG_TO_STR(g.to), TAG_IF(from[0], SIPTAG_FROM_STR(from)), TAG_END());
            nua_invite(g.call, NUTAG_URL(g.to), SIPTAG_CONTENT_TYPE_STR("application/sdp"),
                       SIPTAG_PAYLOAD_STR(g.local_sdp), TAG_END());
        }
        if (g.answer_at > 0 && now >= g.answer_at) {
            g.answer_at = 0;
            if (!g.call_ended && !g.done)
                nua_respond(g.call, SIP_200_OK, SIPTAG_CONTENT_TYPE_STR("application/sdp"),
                            SIPTAG_PAYLOAD_STR(g.local_sdp), TAG_END());
        }
        if (!g.done && g.call_ended && (g.t38_running || g.audio_running) && !g.phase_e_seen) {
            /* A BYE right after the last T.30 message (a receiver hangs up
               on DCN): give spandsp a moment of its clock to reach phase E. */
            if (g.grace_until == 0)
                g.grace_until = now + 1000.0 / g.speedup + 100;
            if (now < g.grace_until)
                goto media;
        }
        if (!g.done && g.call_ended) {
            if (g.phase_e_seen)
                finish(g.completion == T30_ERR_OK ? EXIT_OK : EXIT_T30, NULL);
            else if (g.t38_running || g.audio_running)
                finish(EXIT_T30, "hung up before phase E");
            else if (g.reinvites_rejected)
                finish(EXIT_REFUSED, "t38-refused");
            else
                finish(EXIT_SIP, g.bye_received ? "hung up before T.38" : "call ended before T.38");
        }
        if (!g.done && g.call_up && g.reinvite_at > 0 && now >= g.reinvite_at) {
            g.reinvite_at = 0;
            if (g.media != MEDIA_T38)
                send_reinvite(0);
        }
        if (!g.done && g.call_up && g.await_deadline > 0 && g.media != MEDIA_T38 && now >= g.await_deadline) {
            g.await_deadline = 0;
            if (g.t38_mode == T38_REJECT)
                ; /* the peer hangs up after our 488 */
            else {
                finish(EXIT_REFUSED, "t38-refused: no re-INVITE");
                hangup();
            }
        }
        if (g.phase_e_seen && !g.done) {
            /* Phase E: BYE at once, or wait up to 3 s for the peer's. */
            if (g.bye_first ? now >= g.phase_e_at + 200 : now >= g.phase_e_at + 3000) {
                hangup();
                if (g.call_ended || g.bye_sent)
                    ; /* finished when the BYE completes, above */
            }
        }
    media:
        /* audio */
        if (g.call_up && !g.call_ended && g.media == MEDIA_AUDIO && g.have_rtp_remote) {
            /* One packet per 20 ms of the clock, on a fixed schedule: a late
               wake-up sends the packets due since (so the samples sent and
               the RTP timestamps keep pace with real time, as the far end's
               fixed jitter buffer expects); over a second behind, the
               schedule and the timestamp jump ahead instead. */
            int burst = 0;
            if (g.next_rtp == 0)
                g.next_rtp = now;
            while (now >= g.next_rtp && burst < 50) {
                send_rtp_silence();
                g.next_rtp += 20;
                burst++;
            }
            if (now >= g.next_rtp) {
                long skip = (long) ((now - g.next_rtp) / 20) + 1;
                g.rtp_ts += (uint32_t) (skip * 160);
                g.rtp_seq += (uint16_t) skip;
                g.next_rtp += skip * 20;
            }
            if (g.next_rtp < next)
                next = g.next_rtp;
        }
        /* T.38 clock */
        if (g.t38_running && (!g.call_ended || (!g.done && now < g.grace_until))) {
            if (now >= g.next_tick) {
                drain_sockets();
                g.next_tick += 20.0 / g.speedup;
                if (now - g.next_tick > 200)
                    g.next_tick = now; /* never catch up more than 200 ms */
                t38_terminal_send_timeout(g.t38, 160);
                g.ticks++;
            }
            if (g.next_tick < next)
                next = g.next_tick;
        }
        wait = (int) (next - now_ms());
        su_root_step(g.root, wait > 0 ? wait : 0);
    }

    report();
    nua_destroy(g.nua);
    su_root_destroy(g.root);
    su_home_deinit(g.home);
    su_deinit();
    t38_terminal_free(g.t38);
    if (g.fax)
        fax_free(g.fax);
    return g.exit_code;
}
