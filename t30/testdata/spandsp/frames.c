/*
 * frames.c: faxkit's own harness around libspandsp 0.0.6 (LGPL, linked only
 * into this test program). Two spandsp T.38 terminals hold a call in
 * memory; every T.30 control frame each one sends is printed as
 *   <side> <hex octets>
 * with side A for the calling transmitter and B for the answering receiver
 * (ECM image data frames, FCD, are left out).
 * Used by t30's golden tests to check our DIS/DCS decoding and mode choice
 * against spandsp's.
 *
 * usage: frames TIFF RXTIFF ECM(0|1) COMPRESSIONS MODEMS
 *   COMPRESSIONS, MODEMS: spandsp T30_SUPPORT_* bit masks (decimal)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <spandsp.h>

static t38_terminal_state_t *term[2];
static int done[2];

static int tx_packet(t38_core_state_t *s, void *user, const uint8_t *buf, int len, int count)
{
    int side = (int) (intptr_t) user;
    static uint16_t seq[2];
    (void) s;
    (void) count;
    t38_core_rx_ifp_packet(t38_terminal_get_t38_core_state(term[1 - side]), buf, len, seq[side]++);
    return 0;
}

static void frame_handler(t30_state_t *s, void *user, int direction, const uint8_t msg[], int len)
{
    int side = (int) (intptr_t) user;
    int i;
    (void) s;
    /* spandsp passes TRUE for frames it received; print what each side sends,
       leaving out the ECM image data frames (FCD) */
    if (direction || (len >= 3 && (msg[2] & 0xFE) == 0x06))
        return;
    printf("%c", 'A' + side);
    for (i = 0; i < len; i++)
        printf(" %02X", msg[i]);
    printf("\n");
}

static void phase_e(t30_state_t *s, void *user, int result)
{
    (void) s;
    done[(int) (intptr_t) user] = 1;
    fprintf(stderr, "%c result %d %s\n", 'A' + (int) (intptr_t) user, result, t30_completion_code_to_str(result));
}

int main(int argc, char **argv)
{
    int i;
    int ecm;
    int comp;
    int modems;
    t30_state_t *t30[2];

    if (argc != 6) {
        fprintf(stderr, "usage: frames TIFF RXTIFF ECM COMPRESSIONS MODEMS\n");
        return 2;
    }
    ecm = atoi(argv[3]);
    comp = atoi(argv[4]);
    modems = atoi(argv[5]);
    for (i = 0; i < 2; i++) {
        term[i] = t38_terminal_init(NULL, i == 0, tx_packet, (void *) (intptr_t) i);
        if (term[i] == NULL)
            return 1;
        t30[i] = t38_terminal_get_t30_state(term[i]);
        t30_set_ecm_capability(t30[i], ecm);
        t30_set_supported_compressions(t30[i], comp);
        t30_set_supported_modems(t30[i], modems);
        t30_set_tx_ident(t30[i], i == 0 ? "+1 555 0100" : "+1 555 0199");
        t30_set_real_time_frame_handler(t30[i], frame_handler, (void *) (intptr_t) i);
        t30_set_phase_e_handler(t30[i], phase_e, (void *) (intptr_t) i);
    }
    t30_set_tx_file(t30[0], argv[1], -1, -1);
    t30_set_rx_file(t30[1], argv[2], -1);
    /* 20 ms steps of virtual time, at most 5 minutes */
    for (i = 0; i < 15000 && !(done[0] && done[1]); i++) {
        t38_terminal_send_timeout(term[0], 160);
        t38_terminal_send_timeout(term[1], 160);
    }
    return done[0] && done[1] ? 0 : 1;
}
