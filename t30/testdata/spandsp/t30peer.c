/*
 * t30peer.c: faxkit's own harness that runs libspandsp 0.0.6's T.30 engine
 * (LGPL; linked only into this test program) behind an ideal, instantaneous
 * modem driven line by line over stdin/stdout, so that t30's Session can
 * hold a whole call with spandsp's T.30 without any modem or T.38 layer in
 * between. Time is virtual: it moves only on "tick".
 *
 * usage: t30peer send|recv calling(0|1) ecm(0|1) compressions TIFF
 *
 * stdin (from the Go test), one command per line, octets in hex:
 *   tick MS            advance MS milliseconds, then print what happened and "ok"
 *   hdlc HEX HEX ...   an HDLC burst (frames without FCS, good FCS)
 *   bad                an HDLC frame with a bad FCS
 *   data HEX           non-ECM data (TCF or a page) in one burst, line bit order
 * stdout:
 *   hdlc RATE HEX ...  a burst spandsp sent (RATE 0 = V.21, else the image modem)
 *   data RATE HEX      non-ECM data spandsp sent (TCF or a page)
 *   done CODE PAGES BADROWS   phase E: the completion code and statistics
 *   ok                 end of the output for one tick
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <spandsp.h>

static t30_state_t *t30;
static int tx_type = -1;
static int tx_rate;
static int tx_hdlc;
static int tx_pause_ms;
static uint8_t hdlc_buf[600][300];
static int hdlc_len[600];
static int hdlc_n;
static int hdlc_end;
static int done;

static void set_rx_type(void *user, int type, int bit_rate, int short_train, int use_hdlc)
{
    (void) user; (void) type; (void) bit_rate; (void) short_train; (void) use_hdlc;
}

static void set_tx_type(void *user, int type, int bit_rate, int short_train, int use_hdlc)
{
    (void) user; (void) short_train;
    tx_type = type;
    tx_rate = bit_rate;
    tx_hdlc = use_hdlc;
    tx_pause_ms = (type == T30_MODEM_PAUSE) ? bit_rate : 0;
}

static void send_hdlc(void *user, const uint8_t *msg, int len)
{
    (void) user;
    if (len <= 0) {
        hdlc_end = 1;
        return;
    }
    if (hdlc_n < 600 && len <= 300) {
        memcpy(hdlc_buf[hdlc_n], msg, len);
        hdlc_len[hdlc_n++] = len;
    }
}

static void phase_e(t30_state_t *s, void *user, int result)
{
    t30_stats_t st;
    (void) user;
    t30_get_transfer_statistics(s, &st);
    printf("done %d %d %d\n", result, st.pages_rx > st.pages_tx ? st.pages_rx : st.pages_tx, st.bad_rows);
    done = 1;
}

static int hexval(int c)
{
    return (c >= '0' && c <= '9') ? c - '0' : (c | 0x20) - 'a' + 10;
}

static int parse_hex(const char *p, uint8_t *out, int max)
{
    int n = 0;
    while (*p && *p != ' ' && *p != '\n' && n < max) {
        out[n++] = (uint8_t) (hexval(p[0]) << 4 | hexval(p[1]));
        p += 2;
    }
    return n;
}

static void print_hex(const uint8_t *b, int len)
{
    int i;
    printf(" ");
    for (i = 0; i < len; i++)
        printf("%02X", b[i]);
}

/* run the transmitter until it waits for time or has nothing to send */
static void run_tx(int ms)
{
    static uint8_t buf[1 << 20];
    int i;
    int n;
    int len;

    for (i = 0; i < 50; i++) {
        switch (tx_type) {
        case T30_MODEM_PAUSE:
            tx_pause_ms -= ms;
            ms = 0;
            if (tx_pause_ms > 0)
                return;
            tx_type = -1;
            t30_front_end_status(t30, T30_FRONT_END_SEND_STEP_COMPLETE);
            break;
        case T30_MODEM_CED:
        case T30_MODEM_CNG:
            tx_type = -1;
            t30_front_end_status(t30, T30_FRONT_END_SEND_STEP_COMPLETE);
            break;
        case T30_MODEM_V21:
        case T30_MODEM_V27TER:
        case T30_MODEM_V29:
        case T30_MODEM_V17:
            if (tx_hdlc) {
                /* each frame is sent at once; spandsp gives the next one (or the
                   end of the burst) when told the previous one is out */
                while (!hdlc_end && hdlc_n > 0 && hdlc_n < 600) {
                    int before = hdlc_n;
                    t30_front_end_status(t30, T30_FRONT_END_SEND_STEP_COMPLETE);
                    if (hdlc_n == before && !hdlc_end)
                        break;
                }
                if (!hdlc_end)
                    return;
                printf("hdlc %d", tx_type == T30_MODEM_V21 ? 0 : tx_rate);
                for (n = 0; n < hdlc_n; n++)
                    print_hex(hdlc_buf[n], hdlc_len[n]);
                printf("\n");
                hdlc_n = 0;
                hdlc_end = 0;
                tx_type = -1;
                t30_front_end_status(t30, T30_FRONT_END_SEND_STEP_COMPLETE);
            } else {
                len = 0;
                while (len < (int) sizeof(buf) - 1024) {
                    n = t30_non_ecm_get_chunk(t30, buf + len, 1024);
                    len += n;
                    if (n < 1024)
                        break;
                }
                printf("data %d", tx_rate);
                print_hex(buf, len);
                printf("\n");
                tx_type = -1;
                t30_front_end_status(t30, T30_FRONT_END_SEND_STEP_COMPLETE);
            }
            break;
        default:
            return;
        }
    }
}

int main(int argc, char **argv)
{
    static char line[1 << 22];
    static uint8_t buf[1 << 21];
    int send;
    int calling;
    int ecm;
    char *p;
    int n;

    if (argc != 6) {
        fprintf(stderr, "usage: t30peer send|recv calling ecm compressions TIFF\n");
        return 2;
    }
    send = strcmp(argv[1], "send") == 0;
    calling = atoi(argv[2]);
    ecm = atoi(argv[3]);
    t30 = t30_init(NULL, calling, set_rx_type, NULL, set_tx_type, NULL, send_hdlc, NULL);
    if (t30 == NULL)
        return 1;
    t30_set_ecm_capability(t30, ecm);
    t30_set_supported_compressions(t30, atoi(argv[4]));
    t30_set_supported_modems(t30, T30_SUPPORT_V27TER | T30_SUPPORT_V29 | T30_SUPPORT_V17);
    t30_set_tx_ident(t30, "+1 555 0199");
    t30_set_phase_e_handler(t30, phase_e, NULL);
    if (send)
        t30_set_tx_file(t30, argv[5], -1, -1);
    else
        t30_set_rx_file(t30, argv[5], -1);
    t30_restart(t30);
    setvbuf(stdout, NULL, _IOFBF, 1 << 20);
    while (fgets(line, sizeof(line), stdin)) {
        if (strncmp(line, "tick ", 5) == 0) {
            n = atoi(line + 5);
            if (!done) {
                run_tx(n);
                t30_timer_update(t30, n * 8);
                run_tx(0);
            }
            printf("ok\n");
            fflush(stdout);
        } else if (strncmp(line, "hdlc", 4) == 0) {
            t30_front_end_status(t30, T30_FRONT_END_SIGNAL_PRESENT);
            for (p = line + 4; *p == ' '; ) {
                p++;
                n = parse_hex(p, buf, sizeof(buf));
                t30_hdlc_accept(t30, buf, n, 1);
                p += 2 * n;
            }
            t30_hdlc_accept(t30, NULL, SIG_STATUS_CARRIER_DOWN, 1);
            t30_front_end_status(t30, T30_FRONT_END_SIGNAL_ABSENT);
        } else if (strncmp(line, "bad", 3) == 0) {
            t30_front_end_status(t30, T30_FRONT_END_SIGNAL_PRESENT);
            t30_hdlc_accept(t30, (const uint8_t *) "\xFF\x13", 2, 0);
            t30_hdlc_accept(t30, NULL, SIG_STATUS_CARRIER_DOWN, 1);
            t30_front_end_status(t30, T30_FRONT_END_SIGNAL_ABSENT);
        } else if (strncmp(line, "data ", 5) == 0) {
            n = parse_hex(line + 5, buf, sizeof(buf));
            t30_front_end_status(t30, T30_FRONT_END_SIGNAL_PRESENT);
            t30_non_ecm_put_bit(t30, SIG_STATUS_TRAINING_SUCCEEDED);
            t30_non_ecm_put_chunk(t30, buf, n);
            t30_front_end_status(t30, T30_FRONT_END_RECEIVE_COMPLETE);
            t30_front_end_status(t30, T30_FRONT_END_SIGNAL_ABSENT);
        }
        if (done)
            fflush(stdout);
    }
    return 0;
}
