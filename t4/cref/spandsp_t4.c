/*
 * spandsp_t4.c - lets faxkit's interop tests use spandsp 0.0.6's T.4/T.6
 * encoder and decoder as an independent peer (see README.md).
 *
 *   spandsp_t4 encode MH|MR|MMR page.tif [MINBITS]  > coded
 *       Encodes the first page of a bilevel TIFF the way spandsp sends a page:
 *       t4_tx_init on the file (K = 2 at 98 lines/inch, 4 at 196), then
 *       t4_tx_start_page and t4_tx_get_chunk. Output: the coded page, LSB
 *       first (fax line order), with EOLs and RTC (MH, MR) or EOFB (MMR).
 *       MINBITS (default 0) is the minimum coded row length: spandsp pads
 *       shorter rows with fill bits before the EOL (minimum scan line time).
 *
 *   spandsp_t4 decode MH|MR|MMR WIDTH  < coded  > rows
 *       Decodes a coded page (LSB first) with t4_rx_put_chunk and a row write
 *       handler. Output: the rows, (WIDTH+7)/8 bytes each, 1 = black, MSB
 *       first. On stderr: "rows=N bad_rows=B longest_bad_run=L".
 *
 * Build: cc -O2 -o spandsp_t4 spandsp_t4.c $(pkg-config --cflags --libs spandsp libtiff-4)
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tiffio.h>
#include <spandsp.h>

static int encoding(const char *name)
{
    if (strcmp(name, "MH") == 0)
        return T4_COMPRESSION_ITU_T4_1D;
    if (strcmp(name, "MR") == 0)
        return T4_COMPRESSION_ITU_T4_2D;
    if (strcmp(name, "MMR") == 0)
        return T4_COMPRESSION_ITU_T6;
    fprintf(stderr, "spandsp_t4: unknown compression %s\n", name);
    exit(2);
}

static int encode(int enc, const char *path, int min_bits)
{
    t4_tx_state_t *s;
    uint8_t buf[4096];
    int n;

    if ((s = t4_tx_init(NULL, path, -1, -1)) == NULL)
    {
        fprintf(stderr, "spandsp_t4: t4_tx_init(%s) failed\n", path);
        return 1;
    }
    t4_tx_set_tx_encoding(s, enc);
    t4_tx_set_min_bits_per_row(s, min_bits);
    t4_tx_set_header_info(s, NULL);
    if (t4_tx_start_page(s) != 0)
    {
        fprintf(stderr, "spandsp_t4: t4_tx_start_page failed\n");
        return 1;
    }
    while ((n = t4_tx_get_chunk(s, buf, (int) sizeof(buf))) > 0)
    {
        if (fwrite(buf, 1, (size_t) n, stdout) != (size_t) n)
            return 1;
        if (n < (int) sizeof(buf))
            break;
    }
    t4_tx_end_page(s);
    t4_tx_free(s);
    return fflush(stdout) != 0;
}

static int write_row(void *user, const uint8_t buf[], size_t len)
{
    int *rows = (int *) user;
    if (len == 0)
        return 0; /* end of page */
    if (fwrite(buf, 1, len, stdout) != len)
        return -1;
    (*rows)++;
    return 0;
}

static int decode(int enc, int width)
{
    char tmp[] = "/tmp/spandsp-t4-XXXXXX";
    int fd = mkstemp(tmp);
    t4_rx_state_t *s;
    t4_stats_t st;
    uint8_t buf[4096];
    size_t n;
    int rows = 0;

    if (fd < 0)
        return 1;
    close(fd);
    /* 0.0.6 opens an output TIFF here; with a row write handler no page is
       written to it, and t4_rx_free removes it. */
    if ((s = t4_rx_init(NULL, tmp, enc)) == NULL)
    {
        fprintf(stderr, "spandsp_t4: t4_rx_init failed\n");
        return 1;
    }
    t4_rx_set_rx_encoding(s, enc);
    t4_rx_set_image_width(s, width);
    t4_rx_set_row_write_handler(s, write_row, &rows);
    if (t4_rx_start_page(s) != 0)
    {
        fprintf(stderr, "spandsp_t4: t4_rx_start_page failed\n");
        return 1;
    }
    while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0)
    {
        if (t4_rx_put_chunk(s, buf, (int) n))
            break; /* end of page seen */
    }
    if (t4_rx_end_page(s) != 0)
        fprintf(stderr, "spandsp_t4: t4_rx_end_page: no image data\n");
    t4_rx_get_transfer_statistics(s, &st);
    fprintf(stderr, "rows=%d bad_rows=%d longest_bad_run=%d\n", rows, st.bad_rows, st.longest_bad_row_run);
    t4_rx_free(s);
    unlink(tmp);
    return fflush(stdout) != 0;
}

int main(int argc, char **argv)
{
    TIFFSetWarningHandler(NULL);
    if ((argc == 4 || argc == 5) && strcmp(argv[1], "encode") == 0)
        return encode(encoding(argv[2]), argv[3], argc == 5 ? atoi(argv[4]) : 0);
    if (argc == 4 && strcmp(argv[1], "decode") == 0 && atoi(argv[3]) > 0)
        return decode(encoding(argv[2]), atoi(argv[3]));
    fprintf(stderr, "usage: spandsp_t4 encode MH|MR|MMR page.tif [MINBITS] > coded\n"
                    "       spandsp_t4 decode MH|MR|MMR WIDTH < coded > rows\n");
    return 2;
}
