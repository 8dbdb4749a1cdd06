/*
 * relay: spandsp 0.0.6 as an independent peer for faxkit's tiff package.
 *
 *   relay IN.tif OUT.tif ENCODING
 *
 * Sends every page of IN.tif with spandsp's T.4 transmitter (t4_tx, which
 * reads the TIFF file the way a spandsp fax sender does) in ENCODING
 * (1 = T.4 1-D, 2 = T.4 2-D, 3 = T.6), and feeds the coded bits straight to
 * spandsp's T.4 receiver (t4_rx), which writes OUT.tif the way spandsp
 * stores a received fax. Prints "pages N" and per page "page W H BADROWS".
 *
 * Written for faxkit against spandsp's public API only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <inttypes.h>
#include <tiffio.h>
#include <spandsp.h>

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: relay IN.tif OUT.tif ENCODING\n");
        return 2;
    }
    int enc = atoi(argv[3]);
    t4_tx_state_t *tx = t4_tx_init(NULL, argv[1], -1, -1);
    if (tx == NULL) {
        fprintf(stderr, "t4_tx_init failed\n");
        return 1;
    }
    t4_tx_set_tx_encoding(tx, enc);
    t4_tx_set_min_bits_per_row(tx, 0);
    t4_rx_state_t *rx = t4_rx_init(NULL, argv[2], T4_COMPRESSION_ITU_T6);
    if (rx == NULL) {
        fprintf(stderr, "t4_rx_init failed\n");
        return 1;
    }
    int pages = t4_tx_get_pages_in_file(tx);
    printf("pages %d\n", pages);
    uint8_t buf[4096];
    for (int p = 0; p < pages; p++) {
        if (t4_tx_start_page(tx) != 0) {
            fprintf(stderr, "t4_tx_start_page failed on page %d\n", p);
            return 1;
        }
        t4_rx_set_rx_encoding(rx, enc);
        t4_rx_set_image_width(rx, t4_tx_get_image_width(tx));
        t4_rx_set_x_resolution(rx, t4_tx_get_x_resolution(tx));
        t4_rx_set_y_resolution(rx, t4_tx_get_y_resolution(tx));
        t4_rx_start_page(rx);
        int n;
        do {
            n = t4_tx_get_chunk(tx, buf, sizeof(buf));
            if (n > 0 && t4_rx_put_chunk(rx, buf, n))
                break; /* receiver saw the end of the page */
        } while (n == (int) sizeof(buf));
        t4_tx_end_page(tx);
        t4_rx_end_page(rx);
        t4_stats_t st;
        t4_rx_get_transfer_statistics(rx, &st);
        printf("page %d %d %d\n", st.width, st.length, st.bad_rows);
    }
    t4_tx_release(tx);
    t4_rx_release(rx);
    return 0;
}
