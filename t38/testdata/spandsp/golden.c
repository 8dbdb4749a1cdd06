/*
 * golden.c: a small harness of faxkit's own around Debian's libspandsp
 * (0.0.6) t38_core, used by t38's tests as an independent IFP oracle.
 *
 *   golden encode          print the IFP bytes spandsp produces for every
 *                          indicator, every data type x field type and some
 *                          multi-field packets, in T.38 versions 0..3.
 *   golden decode          read lines "VERSION HEX" on stdin, feed each to
 *                          t38_core_rx_ifp_packet and print what its receive
 *                          handlers reported.
 *
 * Output lines (all hex lower case, "-" when spandsp produced nothing):
 *   ind V I HEX
 *   data V DT FT LEN HEX
 *   multi V DT FT:LEN[,FT:LEN...] HEX
 *   rx V HEX -> ret R [ind I] [data DT FT HEX] ...
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <spandsp.h>

static uint8_t captured[4096];
static int captured_len;

static int tx_handler(t38_core_state_t *s, void *user, const uint8_t *buf, int len, int count)
{
    (void) s; (void) user; (void) count;
    if (len > (int) sizeof(captured))
        len = sizeof(captured);
    memcpy(captured, buf, len);
    captured_len = len;
    return 0;
}

static char report[65536];

static void appendf(const char *fmt, const char *a, int x, int y)
{
    (void) a;
    size_t n = strlen(report);
    snprintf(report + n, sizeof(report) - n, fmt, x, y);
}

static int rx_indicator(t38_core_state_t *s, void *user, int indicator)
{
    (void) s; (void) user;
    appendf(" ind %d%.0d", NULL, indicator, 0);
    return 0;
}

static int rx_data(t38_core_state_t *s, void *user, int data_type, int field_type, const uint8_t *buf, int len)
{
    (void) s; (void) user;
    appendf(" data %d %d ", NULL, data_type, field_type);
    if (len <= 0 || buf == NULL)
    {
        appendf("-%.0d%.0d", NULL, 0, 0);
        return 0;
    }
    for (int i = 0; i < len; i++)
        appendf("%02x%.0d", NULL, buf[i], 0);
    return 0;
}

static int rx_missing(t38_core_state_t *s, void *user, int rx_seq_no, int expected_seq_no)
{
    (void) s; (void) user; (void) rx_seq_no; (void) expected_seq_no;
    return 0;
}

static t38_core_state_t *fresh(int version)
{
    t38_core_state_t *s = t38_core_init(NULL, rx_indicator, rx_data, rx_missing, NULL, tx_handler, NULL);
    if (s == NULL)
    {
        fprintf(stderr, "t38_core_init failed\n");
        exit(2);
    }
    t38_set_t38_version(s, version);
    captured_len = 0;
    return s;
}

static void print_captured(void)
{
    if (captured_len <= 0)
    {
        printf("-\n");
        return;
    }
    for (int i = 0; i < captured_len; i++)
        printf("%02x", captured[i]);
    printf("\n");
}

static void payload(uint8_t *buf, int len, int seed)
{
    for (int i = 0; i < len; i++)
        buf[i] = (uint8_t) (seed*31 + i*7 + 1);
}

static void encode_all(void)
{
    static const int lens[] = {0, 1, 3, 255, 256, 300};
    uint8_t data[512];

    for (int v = 0; v <= 3; v++)
    {
        for (int ind = 0; ind <= 24; ind++)
        {
            t38_core_state_t *s = fresh(v);
            /* The core suppresses an indicator equal to the last one sent,
               and starts with no-signal as the current one. */
            if (ind == 0)
                t38_core_send_indicator(s, 1);
            captured_len = 0;
            t38_core_send_indicator(s, ind);
            printf("ind %d %d ", v, ind);
            print_captured();
            t38_core_free(s);
        }
        for (int dt = 0; dt <= 16; dt++)
        {
            for (int ft = 0; ft <= 13; ft++)
            {
                for (unsigned li = 0; li < sizeof(lens)/sizeof(lens[0]); li++)
                {
                    int len = lens[li];
                    if (len > 3 && !(dt == 0 && ft == 0) && !(dt == 8 && ft == 6))
                        continue;
                    t38_core_state_t *s = fresh(v);
                    payload(data, len, dt*16 + ft);
                    t38_core_send_data(s, dt, ft, data, len, T38_PACKET_CATEGORY_CONTROL_DATA);
                    printf("data %d %d %d %d ", v, dt, ft, len);
                    print_captured();
                    t38_core_free(s);
                }
            }
        }
        /* Multi-field packets, as terminals and gateways send them. */
        static const int combos[][6] = {
            /* count, ft0, len0, ft1, len1, ... (max 3 fields here) */
            {2, 0, 5, 2, 0},
            {2, 0, 3, 4, 0},
            {2, 2, 0, 1, 0},
            {3, 0, 2, 0, 3, 2},
            {2, 6, 4, 7, 0},
            {2, 3, 0, 1, 0},
            {2, 1, 0, 0, 2},
            {3, 2, 0, 1, 0},
        };
        for (unsigned c = 0; c < sizeof(combos)/sizeof(combos[0]); c++)
        {
            t38_data_field_t fields[3];
            uint8_t bufs[3][16];
            int n = combos[c][0];
            int lensf[3] = {0, 0, 0};
            int fts[3] = {0, 0, 0};
            if (n == 3 && c == 3)
            {
                fts[0] = 0; lensf[0] = 2; fts[1] = 0; lensf[1] = 3; fts[2] = 2; lensf[2] = 0;
            }
            else if (n == 3)
            {
                fts[0] = 2; lensf[0] = 0; fts[1] = 1; lensf[1] = 0; fts[2] = 0; lensf[2] = 0;
            }
            else
            {
                fts[0] = combos[c][1]; lensf[0] = combos[c][2];
                fts[1] = combos[c][3]; lensf[1] = combos[c][4];
            }
            for (int i = 0; i < n; i++)
            {
                payload(bufs[i], lensf[i], 100 + i);
                fields[i].field_type = fts[i];
                fields[i].field = bufs[i];
                fields[i].field_len = lensf[i];
            }
            for (int dt = 0; dt <= 9; dt += 9)
            {
                t38_core_state_t *s = fresh(v);
                t38_core_send_data_multi_field(s, dt, fields, n, T38_PACKET_CATEGORY_CONTROL_DATA);
                printf("multi %d %d ", v, dt);
                for (int i = 0; i < n; i++)
                    printf("%s%d:%d", (i == 0) ? "" : ",", fts[i], lensf[i]);
                printf(" ");
                print_captured();
                t38_core_free(s);
            }
        }
    }
}

static int unhex(const char *h, uint8_t *out, int max)
{
    int n = 0;
    while (h[0] && h[1] && n < max)
    {
        unsigned int b;
        if (sscanf(h, "%2x", &b) != 1)
            break;
        out[n++] = (uint8_t) b;
        h += 2;
    }
    return n;
}

static void decode_all(void)
{
    char line[16384];
    uint8_t pkt[8192];
    t38_core_state_t *s[4];
    int seq[4] = {0, 0, 0, 0};

    for (int v = 0; v < 4; v++)
        s[v] = fresh(v);
    while (fgets(line, sizeof(line), stdin))
    {
        int v;
        char hex[16384];
        if (sscanf(line, "%d %16383s", &v, hex) != 2 || v < 0 || v > 3)
            continue;
        int len = unhex(hex, pkt, sizeof(pkt));
        report[0] = '\0';
        int ret = t38_core_rx_ifp_packet(s[v], pkt, len, (uint16_t) seq[v]++);
        printf("rx %d %s -> ret %d%s\n", v, hex, ret, report);
    }
    for (int v = 0; v < 4; v++)
        t38_core_free(s[v]);
}

int main(int argc, char *argv[])
{
    if (argc < 2)
    {
        fprintf(stderr, "usage: golden encode|decode\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOFBF, 1 << 16);
    if (strcmp(argv[1], "encode") == 0)
        encode_all();
    else if (strcmp(argv[1], "decode") == 0)
        decode_all();
    else
        return 2;
    return 0;
}
