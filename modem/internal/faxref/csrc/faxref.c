/*
 * faxref: a test peer for faxkit's audio fax terminal (modem/fax), built
 * on libspandsp's fax_state_t (T.30 over its own V.21, V.27ter, V.29 and
 * V.17 modems). It exchanges 8 kHz 16-bit little-endian linear audio with
 * the test in lockstep on stdin/stdout: for each block of 160 samples read
 * (what spandsp hears) it writes the 160 samples spandsp sends. Time is
 * the sample count, so no real time is needed. At stdin's end it writes
 * the call's result as one JSON line to the -result file.
 *
 * Options: -mode send|receive  -file TIFF  -result FILE  -calling 0|1
 *          -ecm 0|1  -modems v27|v29|v17  -verbose 0|1
 *
 * Compiled at test time against libspandsp-dev (LGPL): test use only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <inttypes.h>
#include <tiffio.h>
#define SPANDSP_EXPOSE_INTERNAL_STRUCTURES
#include <spandsp.h>

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

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', f);
        if ((unsigned char) *s >= 0x20)
            fputc(*s, f);
    }
    fputc('"', f);
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

int main(int argc, char **argv)
{
    const char *mode = "receive", *file = NULL, *result = NULL, *modems_opt = "v29";
    int calling = 0, ecm = 1, verbose = 0, i, sending, modems;
    long blocks = 0;
    int16_t rx[160], tx[160];
    fax_state_t *fax;
    t30_state_t *t30;
    logging_state_t *logs[2];
    t30_stats_t st;
    FILE *rf;

    for (i = 1; i + 1 < argc; i += 2) {
        const char *a = argv[i], *v = argv[i + 1];
        if (!strcmp(a, "-mode")) mode = v;
        else if (!strcmp(a, "-file")) file = v;
        else if (!strcmp(a, "-result")) result = v;
        else if (!strcmp(a, "-calling")) calling = atoi(v);
        else if (!strcmp(a, "-ecm")) ecm = atoi(v);
        else if (!strcmp(a, "-modems")) modems_opt = v;
        else if (!strcmp(a, "-verbose")) verbose = atoi(v);
        else {
            fprintf(stderr, "faxref: unknown option %s\n", a);
            return 2;
        }
    }
    if (!file || !result) {
        fprintf(stderr, "faxref: -file and -result are required\n");
        return 2;
    }
    sending = strcmp(mode, "send") == 0;

    fax = fax_init(NULL, calling);
    if (!fax) {
        fprintf(stderr, "faxref: fax_init failed\n");
        return 1;
    }
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

    for (;;) {
        int n;
        if (fread(rx, sizeof(rx), 1, stdin) != 1)
            break;
        fax_rx(fax, rx, 160);
        n = fax_tx(fax, tx, 160);
        if (n < 160)
            memset(tx + n, 0, (160 - n) * sizeof(tx[0]));
        if (fwrite(tx, sizeof(tx), 1, stdout) != 1)
            break;
        fflush(stdout);
        blocks++;
    }

    t30_get_transfer_statistics(t30, &st);
    rf = fopen(result, "w");
    if (!rf) {
        perror("faxref: result");
        return 1;
    }
    fprintf(rf, "{\"ok\":%s,\"phase_e\":%s,\"code\":%d,\"result\":",
            phase_e_seen && completion == T30_ERR_OK ? "true" : "false",
            phase_e_seen ? "true" : "false", phase_e_seen ? completion : -1);
    json_string(rf, phase_e_seen ? t30_completion_code_to_str(completion) : "no phase E");
    fprintf(rf, ",\"pages\":%d,\"bit_rate\":%d,\"ecm\":%s,\"compression\":\"%s\",\"bad_rows\":%d,"
                "\"longest_bad_row_run\":%d,\"ecm_retries\":%d,\"line_ms\":%ld}\n",
            sending ? st.pages_tx : st.pages_rx, st.bit_rate, st.error_correcting_mode ? "true" : "false",
            encoding_name(st.encoding), st.bad_rows, st.longest_bad_row_run,
            st.error_correcting_mode_retries, blocks * 20);
    fclose(rf);
    fax_free(fax);
    return 0;
}
