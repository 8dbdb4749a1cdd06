/*
 * qamref: faxkit's test harness around Debian's libspandsp V.29, V.27ter
 * and V.17 modems, so that faxkit's Go modems can be measured against
 * spandsp's in the same run. It is compiled at test time (see qamref.go)
 * and never linked into faxkit. spandsp is LGPL: this file only calls its
 * public API.
 *
 *   qamref tx MODEM RATE LEVEL [tep|notep] [short]
 *                                   data bits (bytes 0/1) on stdin,
 *                                   16-bit little-endian 8 kHz audio on stdout;
 *                                   "tep" sends the talker echo protection tone;
 *                                   "short" (V.17 only) first sends a long-trained
 *                                   transmission of 1440 ones and 1600 samples of
 *                                   silence, then the data with the short training
 *                                   (as a T.30 page after TCF)
 *   qamref rx MODEM RATE            audio on stdin, received bits (bytes 0/1)
 *                                   on stdout, status changes on stderr
 *   qamref bench-rx MODEM RATE REPS audio on stdin; prints CPU ns per
 *                                   160-sample block of the receiver
 *   qamref bench-tx MODEM RATE BLOCKS prints CPU ns per 160-sample block
 *                                   of the transmitter
 *   qamref g711 - - 	     spandsp's G.711: for every 16-bit linear value
 *                                   its µ-law then A-law code (2×65536 bytes),
 *                                   then the linear value of every µ-law and
 *                                   A-law code (2×256 int16 LE)
 * MODEM is v29, v27ter or v17. Receivers use spandsp's test cutoff of
 * -45.5 dBm0 (carrier on at -43, off at -48 dBm0), as its v*_tests do.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <time.h>
#include <spandsp.h>

#define BLOCK 160

static unsigned char *in_bits;
static size_t n_bits, bit_pos;
static int ended;

static int get_bit(void *user)
{
    (void) user;
    if (bit_pos >= n_bits) {
        ended = 1;
        return SIG_STATUS_END_OF_DATA;
    }
    return in_bits[bit_pos++] & 1;
}

static int prefix_left;

static int prefix_bit(void *user)
{
    (void) user;
    if (prefix_left <= 0)
        return SIG_STATUS_END_OF_DATA;
    prefix_left--;
    return 1;
}

static int ones(void *user)
{
    (void) user;
    return 1;
}

static long rx_samples;

static void put_bit(void *user, int bit)
{
    (void) user;
    if (bit < 0) {
        fprintf(stderr, "status %d sample %ld\n", bit, rx_samples);
        return;
    }
    putchar(bit & 1);
}

static void discard_bit(void *user, int bit)
{
    (void) user;
    (void) bit;
}

struct modem {
    void *tx, *rx;
    int (*txf)(void *, int16_t *, int);
    int (*rxf)(void *, const int16_t *, int);
};

static int tx29(void *s, int16_t *a, int n) { return v29_tx((v29_tx_state_t *) s, a, n); }
static int rx29(void *s, const int16_t *a, int n) { return v29_rx((v29_rx_state_t *) s, a, n); }
static int tx27(void *s, int16_t *a, int n) { return v27ter_tx((v27ter_tx_state_t *) s, a, n); }
static int rx27(void *s, const int16_t *a, int n) { return v27ter_rx((v27ter_rx_state_t *) s, a, n); }
static int tx17(void *s, int16_t *a, int n) { return v17_tx((v17_tx_state_t *) s, a, n); }
static int rx17(void *s, const int16_t *a, int n) { return v17_rx((v17_rx_state_t *) s, a, n); }

static void make_tx(struct modem *m, const char *name, int rate, float level, int tep, get_bit_func_t gb)
{
    if (strcmp(name, "v29") == 0) {
        v29_tx_state_t *s = v29_tx_init(NULL, rate, tep, gb, NULL);
        v29_tx_power(s, level);
        m->tx = s; m->txf = tx29;
    } else if (strcmp(name, "v27ter") == 0) {
        v27ter_tx_state_t *s = v27ter_tx_init(NULL, rate, tep, gb, NULL);
        v27ter_tx_power(s, level);
        m->tx = s; m->txf = tx27;
    } else if (strcmp(name, "v17") == 0) {
        v17_tx_state_t *s = v17_tx_init(NULL, rate, tep, gb, NULL);
        v17_tx_power(s, level);
        m->tx = s; m->txf = tx17;
    } else {
        fprintf(stderr, "unknown modem %s\n", name);
        exit(2);
    }
    if (m->tx == NULL) {
        fprintf(stderr, "cannot start %s tx at %d\n", name, rate);
        exit(2);
    }
}

static void make_rx(struct modem *m, const char *name, int rate, put_bit_func_t pb)
{
    if (strcmp(name, "v29") == 0) {
        m->rx = v29_rx_init(NULL, rate, pb, NULL); m->rxf = rx29;
        if (m->rx) v29_rx_signal_cutoff(m->rx, -45.5f);
    } else if (strcmp(name, "v27ter") == 0) {
        m->rx = v27ter_rx_init(NULL, rate, pb, NULL); m->rxf = rx27;
        if (m->rx) v27ter_rx_signal_cutoff(m->rx, -45.5f);
    } else if (strcmp(name, "v17") == 0) {
        m->rx = v17_rx_init(NULL, rate, pb, NULL); m->rxf = rx17;
        if (m->rx) v17_rx_signal_cutoff(m->rx, -45.5f);
    } else {
        fprintf(stderr, "unknown modem %s\n", name);
        exit(2);
    }
    if (m->rx == NULL) {
        fprintf(stderr, "cannot start %s rx at %d\n", name, rate);
        exit(2);
    }
}

static void free_rx(struct modem *m, const char *name)
{
    if (strcmp(name, "v29") == 0) v29_rx_free(m->rx);
    else if (strcmp(name, "v27ter") == 0) v27ter_rx_free(m->rx);
    else v17_rx_free(m->rx);
}

static unsigned char *slurp(size_t *n)
{
    size_t cap = 1 << 16, len = 0;
    unsigned char *b = malloc(cap);
    size_t r;
    while ((r = fread(b + len, 1, cap - len, stdin)) > 0) {
        len += r;
        if (len == cap) {
            cap *= 2;
            b = realloc(b, cap);
        }
    }
    *n = len;
    return b;
}

static double cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
    struct modem m;
    int16_t amp[BLOCK];

    if (argc < 4) {
        fprintf(stderr, "usage: qamref tx|rx|bench-rx|bench-tx MODEM RATE [LEVEL|REPS|BLOCKS]\n");
        return 2;
    }
    memset(&m, 0, sizeof(m));
    if (strcmp(argv[1], "g711") == 0) {
        for (int v = -32768; v < 32768; v++)
            putchar(linear_to_ulaw(v));
        for (int v = -32768; v < 32768; v++)
            putchar(linear_to_alaw(v));
        for (int c = 0; c < 256; c++) {
            int16_t x = ulaw_to_linear(c);
            fwrite(&x, 2, 1, stdout);
        }
        for (int c = 0; c < 256; c++) {
            int16_t x = alaw_to_linear(c);
            fwrite(&x, 2, 1, stdout);
        }
        return 0;
    }
    const char *mode = argv[1], *name = argv[2];
    int rate = atoi(argv[3]);
    if (strcmp(mode, "tx") == 0) {
        float level = argc > 4 ? atof(argv[4]) : -10.0f;
        int tep = argc > 5 && strcmp(argv[5], "tep") == 0;
        int short_train = argc > 6 && strcmp(argv[6], "short") == 0;
        in_bits = slurp(&n_bits);
        if (short_train) {
            if (strcmp(name, "v17") != 0) {
                fprintf(stderr, "short training is V.17 only\n");
                return 2;
            }
            prefix_left = 1440;
            make_tx(&m, name, rate, level, tep, prefix_bit);
            for (long total = 0; total < 80000; ) {
                int n = m.txf(m.tx, amp, BLOCK);
                if (n > 0)
                    fwrite(amp, 2, n, stdout);
                total += n;
                if (n < BLOCK)
                    break;
            }
            memset(amp, 0, sizeof(amp));
            for (int i = 0; i < 10; i++)
                fwrite(amp, 2, BLOCK, stdout);
            v17_tx_set_get_bit((v17_tx_state_t *) m.tx, get_bit, NULL);
            v17_tx_restart((v17_tx_state_t *) m.tx, rate, tep, 1);
        } else {
            make_tx(&m, name, rate, level, tep, get_bit);
        }
        /* Bounded: the data at the lowest rate plus 10 s of training and tail. */
        long limit = (long) (n_bits / 2400.0 * 8000) + 80000, total = 0;
        for (;;) {
            int n = m.txf(m.tx, amp, BLOCK);
            if (n > 0)
                fwrite(amp, 2, n, stdout);
            total += n;
            if (n < BLOCK || total > limit)
                break;
        }
        return 0;
    }
    if (strcmp(mode, "rx") == 0) {
        size_t n;
        unsigned char *audio = slurp(&n);
        make_rx(&m, name, rate, put_bit);
        for (size_t i = 0; i + 1 < n; i += 2 * BLOCK) {
            int k = 0;
            for (; k < BLOCK && i + 2 * k + 1 < n; k++)
                amp[k] = (int16_t) (audio[i + 2 * k] | (audio[i + 2 * k + 1] << 8));
            rx_samples = i / 2;
            m.rxf(m.rx, amp, k);
        }
        return 0;
    }
    if (strcmp(mode, "bench-rx") == 0) {
        int reps = argc > 4 ? atoi(argv[4]) : 1;
        size_t n;
        unsigned char *audio = slurp(&n);
        size_t ns = n / 2;
        int16_t *s = malloc(ns * 2);
        for (size_t i = 0; i < ns; i++)
            s[i] = (int16_t) (audio[2 * i] | (audio[2 * i + 1] << 8));
        long blocks = 0;
        double t0 = cpu_ns();
        for (int r = 0; r < reps; r++) {
            make_rx(&m, name, rate, discard_bit);
            for (size_t i = 0; i + BLOCK <= ns; i += BLOCK) {
                m.rxf(m.rx, s + i, BLOCK);
                blocks++;
            }
            free_rx(&m, name);
        }
        double t1 = cpu_ns();
        printf("%.1f\n", (t1 - t0) / (blocks ? blocks : 1));
        return 0;
    }
    if (strcmp(mode, "bench-tx") == 0) {
        long blocks = argc > 4 ? atol(argv[4]) : 1000;
        make_tx(&m, name, rate, -10.0f, 0, ones);
        double t0 = cpu_ns();
        for (long b = 0; b < blocks; b++)
            m.txf(m.tx, amp, BLOCK);
        double t1 = cpu_ns();
        printf("%.1f\n", (t1 - t0) / blocks);
        return 0;
    }
    fprintf(stderr, "unknown mode %s\n", mode);
    return 2;
}
