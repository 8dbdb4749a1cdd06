/*
 * fskref: faxkit's reference harness on Debian's libspandsp for the modem
 * packages' cross-tests (G.711, connect tones, V.21 FSK and HDLC). It is
 * compiled at test time by fskref.go and never linked into faxkit.
 * Samples are 16-bit native-endian linear PCM at 8 kHz on stdin/stdout.
 *
 *   fskref g711                        65536 µ-law codes, 65536 A-law codes
 *                                      (input = uint16 index as int16), then the
 *                                      256 µ-law and 256 A-law decoded int16s
 *   fskref tone TYPE N                 N samples of modem_connect_tones_tx(TYPE)
 *   fskref tonegen F LEVEL ON OFF N    N samples of tone_gen: F Hz at LEVEL dBm0,
 *                                      ON ms on, OFF ms off, repeating
 *   fskref fsktx LEVEL                 stdin: bytes 0/1 (bits); stdout: V.21 ch2
 *   fskref fskrx [CUTOFF]              stdin: samples; stdout: bytes 0/1 (bits);
 *                                      CUTOFF sets fsk_rx_signal_cutoff (dBm0)
 *   fskref hdlctx LEVEL FLAGS          stdin: frames as hex lines; stdout: V.21 ch2
 *                                      FLAGS preamble flags, the frames, closing flags
 *   fskref hdlcrx [CUTOFF]             stdin: samples; stdout lines
 *                                      "frame HEX OK" and "status CODE"
 *   fskref awgn LEVEL N                N samples of awgn_init_dbm0(seed 1234, LEVEL)
 *   fskref tonerx TYPE                 stdin: samples; stdout "tone CODE SAMPLE" lines
 *                                      from modem_connect_tones_rx(TYPE)
 *   fskref bench N                     CPU ns per 160-sample block of fsk_rx and
 *                                      fsk_tx over N blocks, as "rx NS\ntx NS"
 *   fskref tonebench N                 CPU ns per 160-sample block of
 *                                      modem_connect_tones_rx (CNG and ANS
 *                                      detectors) and _tx (ANSam/PR), as
 *                                      "cng NS\nans NS\ntx NS"
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <time.h>
#include <spandsp.h>

static int16_t *read_samples(size_t *n)
{
    size_t cap = 1 << 16, len = 0;
    int16_t *buf = malloc(cap * sizeof(int16_t));
    size_t got;
    while ((got = fread(buf + len, sizeof(int16_t), cap - len, stdin)) > 0)
    {
        len += got;
        if (len == cap)
        {
            cap *= 2;
            buf = realloc(buf, cap * sizeof(int16_t));
        }
    }
    *n = len;
    return buf;
}

static void put_bit_out(void *user_data, int bit)
{
    if (bit < 0)
        return; /* status report */
    putchar(bit & 1);
}

static uint8_t *tx_bits;
static size_t tx_nbits, tx_pos;

static int get_bit_in(void *user_data)
{
    if (tx_pos >= tx_nbits)
        return SIG_STATUS_END_OF_DATA;
    return tx_bits[tx_pos++] & 1;
}

static void frame_out(void *user_data, const uint8_t *pkt, int len, int ok)
{
    int i;
    if (len < 0)
    {
        printf("status %d\n", len);
        return;
    }
    printf("frame ");
    for (i = 0; i < len; i++)
        printf("%02x", pkt[i]);
    printf(" %d\n", ok);
}

static void status_out(void *user_data, int status)
{
    printf("status %d\n", status);
}

#define MAX_FRAMES 64
static uint8_t frames[MAX_FRAMES][HDLC_MAXFRAME_LEN];
static int frame_len[MAX_FRAMES], nframes, next_frame;
static hdlc_tx_state_t *htx;

static void underflow(void *user_data)
{
    if (next_frame < nframes)
    {
        hdlc_tx_frame(htx, frames[next_frame], frame_len[next_frame]);
        next_frame++;
    }
    else if (next_frame == nframes)
    {
        next_frame++;
        hdlc_tx_frame(htx, NULL, 0); /* end of data after the closing flag */
    }
}

static int hdlc_done;

static int hdlc_get_bit(void *user_data)
{
    int bit;
    if (hdlc_done)
        return 1;
    bit = hdlc_tx_get_bit(htx);
    if (bit < 0)
    {
        hdlc_done = 1;
        return 1;
    }
    return bit;
}

static void put_bit_null(void *user_data, int bit)
{
}

static int get_bit_random(void *user_data)
{
    return rand() & 1;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static double cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char *argv[])
{
    int16_t amp[160];
    if (argc < 2)
        return 2;
    if (strcmp(argv[1], "g711") == 0)
    {
        int i;
        for (i = 0; i < 65536; i++)
            putchar(linear_to_ulaw((int16_t) i));
        for (i = 0; i < 65536; i++)
            putchar(linear_to_alaw((int16_t) i));
        for (i = 0; i < 256; i++)
        {
            int16_t v = ulaw_to_linear(i);
            fwrite(&v, 2, 1, stdout);
        }
        for (i = 0; i < 256; i++)
        {
            int16_t v = alaw_to_linear(i);
            fwrite(&v, 2, 1, stdout);
        }
        return 0;
    }
    if (strcmp(argv[1], "tone") == 0 && argc == 4)
    {
        modem_connect_tones_tx_state_t *s = modem_connect_tones_tx_init(NULL, atoi(argv[2]));
        long n = atol(argv[3]);
        while (n > 0)
        {
            int k = n > 160 ? 160 : n;
            int got = modem_connect_tones_tx(s, amp, k);
            if (got < k)
                memset(amp + got, 0, (k - got) * 2);
            fwrite(amp, 2, k, stdout);
            n -= k;
        }
        return 0;
    }
    if (strcmp(argv[1], "tonegen") == 0 && argc == 7)
    {
        tone_gen_descriptor_t *d;
        tone_gen_state_t *s;
        long n = atol(argv[6]);
        d = tone_gen_descriptor_init(NULL, atoi(argv[2]), atoi(argv[3]), 0, 0, atoi(argv[4]), atoi(argv[5]), 0, 0, 1);
        s = tone_gen_init(NULL, d);
        while (n > 0)
        {
            int k = n > 160 ? 160 : n;
            int got = tone_gen(s, amp, k);
            if (got < k)
                memset(amp + got, 0, (k - got) * 2);
            fwrite(amp, 2, k, stdout);
            n -= k;
        }
        return 0;
    }
    if (strcmp(argv[1], "awgn") == 0 && argc == 4)
    {
        awgn_state_t *s = awgn_init_dbm0(NULL, 1234, atof(argv[2]));
        long n = atol(argv[3]), i;
        for (i = 0; i < n; i++)
        {
            int16_t v = awgn(s);
            fwrite(&v, 2, 1, stdout);
        }
        return 0;
    }
    if (strcmp(argv[1], "tonerx") == 0 && argc == 3)
    {
        size_t n, i;
        int16_t *in = read_samples(&n);
        modem_connect_tones_rx_state_t *s = modem_connect_tones_rx_init(NULL, atoi(argv[2]), NULL, NULL);
        int last = 0;
        for (i = 0; i + 160 <= n; i += 160)
        {
            int t;
            modem_connect_tones_rx(s, in + i, 160);
            t = modem_connect_tones_rx_get(s);
            if (t != last)
                printf("tone %d %zu\n", t, i + 160);
            last = t;
        }
        return 0;
    }
    if (strcmp(argv[1], "fsktx") == 0 && argc == 3)
    {
        fsk_tx_state_t *s;
        size_t cap = 1 << 16;
        int c;
        long n;
        tx_bits = malloc(cap);
        while ((c = getchar()) != EOF)
        {
            if (tx_nbits == cap)
                tx_bits = realloc(tx_bits, cap *= 2);
            tx_bits[tx_nbits++] = c;
        }
        s = fsk_tx_init(NULL, &preset_fsk_specs[FSK_V21CH2], get_bit_in, NULL);
        fsk_tx_power(s, atof(argv[2]));
        /* One sample per 8000/300 of a bit, rounded up to whole blocks. */
        n = (long) ((tx_nbits * 8000 + 299) / 300);
        n = (n + 159) / 160 * 160;
        for (; n > 0; n -= 160)
        {
            fsk_tx(s, amp, 160);
            fwrite(amp, 2, 160, stdout);
        }
        return 0;
    }
    if (strcmp(argv[1], "fskrx") == 0)
    {
        size_t n, i;
        int16_t *in = read_samples(&n);
        fsk_rx_state_t *s = fsk_rx_init(NULL, &preset_fsk_specs[FSK_V21CH2], FSK_FRAME_MODE_SYNC, put_bit_out, NULL);
        if (argc > 2)
            fsk_rx_signal_cutoff(s, atof(argv[2]));
        for (i = 0; i < n; i += 160)
            fsk_rx(s, in + i, (n - i) < 160 ? (int) (n - i) : 160);
        return 0;
    }
    if (strcmp(argv[1], "hdlctx") == 0 && argc == 4)
    {
        char line[2 * HDLC_MAXFRAME_LEN + 8];
        fsk_tx_state_t *s;
        int quiet = 0;
        while (nframes < MAX_FRAMES && fgets(line, sizeof(line), stdin))
        {
            int i, len = 0;
            for (i = 0; hexval(line[i]) >= 0 && hexval(line[i + 1]) >= 0; i += 2)
                frames[nframes][len++] = hexval(line[i]) << 4 | hexval(line[i + 1]);
            if (len > 0)
                frame_len[nframes++] = len;
        }
        htx = hdlc_tx_init(NULL, 0, 2, 0, underflow, NULL);
        hdlc_tx_flags(htx, atoi(argv[3]));
        s = fsk_tx_init(NULL, &preset_fsk_specs[FSK_V21CH2], hdlc_get_bit, NULL);
        fsk_tx_power(s, atof(argv[2]));
        /* Run until the HDLC transmitter has ended, then one block more. */
        while (quiet < 2)
        {
            fsk_tx(s, amp, 160);
            fwrite(amp, 2, 160, stdout);
            if (hdlc_done)
                quiet++;
        }
        return 0;
    }
    if (strcmp(argv[1], "hdlcrx") == 0)
    {
        size_t n, i;
        int16_t *in = read_samples(&n);
        hdlc_rx_state_t *h = hdlc_rx_init(NULL, 0, 1, 5, frame_out, NULL);
        fsk_rx_state_t *s = fsk_rx_init(NULL, &preset_fsk_specs[FSK_V21CH2], FSK_FRAME_MODE_SYNC, (put_bit_func_t) hdlc_rx_put_bit, h);
        hdlc_rx_set_status_handler(h, status_out, NULL);
        if (argc > 2)
            fsk_rx_signal_cutoff(s, atof(argv[2]));
        for (i = 0; i < n; i += 160)
            fsk_rx(s, in + i, (n - i) < 160 ? (int) (n - i) : 160);
        return 0;
    }
    if (strcmp(argv[1], "bench") == 0 && argc == 3)
    {
        long blocks = atol(argv[2]), b;
        fsk_rx_state_t *rx = fsk_rx_init(NULL, &preset_fsk_specs[FSK_V21CH2], FSK_FRAME_MODE_SYNC, put_bit_null, NULL);
        fsk_tx_state_t *tx = fsk_tx_init(NULL, &preset_fsk_specs[FSK_V21CH2], get_bit_random, NULL);
        int16_t sig[8000];
        double t0, t1, t2;
        for (b = 0; b < 50; b++)
            fsk_tx(tx, sig + 160 * b, 160);
        t0 = cpu_ns();
        for (b = 0; b < blocks; b++)
            fsk_rx(rx, sig + 160 * (b % 50), 160);
        t1 = cpu_ns();
        for (b = 0; b < blocks; b++)
            fsk_tx(tx, amp, 160);
        t2 = cpu_ns();
        printf("rx %.1f\ntx %.1f\nsink %d\n", (t1 - t0) / blocks, (t2 - t1) / blocks, amp[7] & 1);
        return 0;
    }
    if (strcmp(argv[1], "tonebench") == 0 && argc == 3)
    {
        long blocks = atol(argv[2]), b;
        modem_connect_tones_tx_state_t *tx = modem_connect_tones_tx_init(NULL, MODEM_CONNECT_TONES_ANSAM_PR);
        modem_connect_tones_rx_state_t *cng = modem_connect_tones_rx_init(NULL, MODEM_CONNECT_TONES_FAX_CNG, NULL, NULL);
        modem_connect_tones_rx_state_t *ans = modem_connect_tones_rx_init(NULL, MODEM_CONNECT_TONES_ANS, NULL, NULL);
        int16_t sig[8000];
        double t0, t1, t2, t3;
        for (b = 0; b < 50; b++)
            modem_connect_tones_tx(tx, sig + 160 * b, 160);
        t0 = cpu_ns();
        for (b = 0; b < blocks; b++)
            modem_connect_tones_rx(cng, sig + 160 * (b % 50), 160);
        t1 = cpu_ns();
        for (b = 0; b < blocks; b++)
            modem_connect_tones_rx(ans, sig + 160 * (b % 50), 160);
        t2 = cpu_ns();
        for (b = 0; b < blocks; b++)
        {
            if (modem_connect_tones_tx(tx, amp, 160) < 160)
                tx = modem_connect_tones_tx_init(tx, MODEM_CONNECT_TONES_ANSAM_PR);
        }
        t3 = cpu_ns();
        printf("cng %.1f\nans %.1f\ntx %.1f\n", (t1 - t0) / blocks, (t2 - t1) / blocks, (t3 - t2) / blocks);
        return 0;
    }
    return 2;
}
