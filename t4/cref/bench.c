/*
 * bench.c - the C reference benchmark for faxkit's t4 codecs.
 *
 * Measures, in one process, MH / MR (K=4) / MMR encode and decode speed of
 * two independent C codecs on the same bilevel pages:
 *
 *   libtiff   (Debian libtiff-dev): TIFFWriteEncodedStrip / TIFFReadEncodedStrip
 *             on a TIFF held in memory (TIFFClientOpen with memory procs);
 *   spandsp   (Debian libspandsp-dev 0.0.6): t4_tx_start_page with a row read
 *             handler (0.0.6 encodes the whole page there, into its own buffer)
 *             and t4_rx_start_page + t4_rx_put_chunk + t4_rx_end_page with a row
 *             write handler.
 *
 * Only the codec calls are inside the timed region: opening the in-memory TIFF,
 * setting tags and writing the directory are not timed. Each (library,
 * operation, compression, page) is run REPS times after one warm-up run and
 * the medians of the wall-clock time and of the thread's CPU time
 * (CLOCK_THREAD_CPUTIME_ID) are reported, in MB/s of raw page bytes
 * (width*height/8 bytes, 1 MB = 1e6 bytes), the unit of Go's b.SetBytes
 * output. On a loaded machine compare CPU time, which excludes the time spent
 * waiting for a core.
 *
 * Every decode is checked pixel-for-pixel against the source page, so a
 * number is only printed for a codec that round-trips the page exactly.
 *
 * Pages are bilevel TIFFs or raw PBMs (P4; a temporary TIFF of each is
 * written for spandsp's t4_tx_init, which takes the page format from a file).
 * A page spandsp 0.0.6 cannot code (it codes into a fixed buffer, and an
 * error-diffused photo does not fit) or decode is reported as
 *   SKIP spandsp <op> <comp> <page> <reason>
 * and the run goes on.
 *
 * Usage:  bench [-n REPS] page.tif|page.pbm...
 * Output: one line per measurement,
 *   RESULT <lib> <op> <comp> <page> <wall MB/s> <wall ns> <coded bytes> <CPU MB/s> <CPU ns>
 * followed by aggregate lines over all pages (total raw bytes / sum of medians)
 *   TOTAL <lib> <op> <comp> <pages> <wall MB/s> <CPU MB/s>
 *
 * See README.md in this directory. Compile with:
 *   cc -O2 -o bench bench.c $(pkg-config --cflags --libs libtiff-4 spandsp) -lm
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <tiffio.h>
#include <spandsp.h>
#include <spandsp/version.h>

enum { MH = 0, MR = 1, MMR = 2, NCOMP = 3 };
static const char *comp_name[NCOMP] = {"MH", "MR", "MMR"};

#define MAXPAGES 64

typedef struct {
    const char *path;
    char tiffpath[64]; /* a TIFF of the page for spandsp's t4_tx_init (PBM input: a temporary file) */
    char name[64];
    int width, height, stride;
    uint8_t *pix; /* 1 = black, MSB first, rows of stride bytes */
    size_t size;
} page_t;

static int reps = 15;

static double clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double) ts.tv_sec * 1e9 + (double) ts.tv_nsec;
}

/* A timing: wall-clock and CPU time of this thread. On a shared machine the
   wall clock also counts the time spent waiting for a core; the thread's CPU
   time does not, and is the figure to compare when the machine is loaded. */
typedef struct {
    double wall, cpu;
} timing_t;

static timing_t now(void)
{
    timing_t t = {clock_ns(CLOCK_MONOTONIC), clock_ns(CLOCK_THREAD_CPUTIME_ID)};
    return t;
}

static timing_t since(timing_t t0)
{
    timing_t t = now();
    t.wall -= t0.wall;
    t.cpu -= t0.cpu;
    return t;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return (x > y) - (x < y);
}

static double median1(double *v, int n)
{
    qsort(v, n, sizeof(double), cmp_double);
    return (n & 1) ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* median returns the medians of the wall and of the CPU times, separately. */
static timing_t median(timing_t *t, int n)
{
    double w[n], c[n];
    timing_t m;
    for (int i = 0; i < n; i++)
    {
        w[i] = t[i].wall;
        c[i] = t[i].cpu;
    }
    m.wall = median1(w, n);
    m.cpu = median1(c, n);
    return m;
}

static void die(const char *msg, const char *arg)
{
    fprintf(stderr, "bench: %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
    exit(1);
}

/* ---- loading the reference pages (any bilevel TIFF libtiff can read) ---- */

/* load_pbm reads a raw PBM (P4: 1 = black, rows padded to octets, MSB
   first, Bitmap's own layout) and writes it as an uncompressed TIFF at
   204 x 196 dpi for spandsp's t4_tx_init. */
static int load_pbm(page_t *p, const char *path)
{
    FILE *f = fopen(path, "rb");
    int w = 0, h = 0, c;
    TIFF *tif;

    if (f == NULL)
        die("cannot open", path);
    if (fgetc(f) != 'P' || fgetc(f) != '4')
    {
        fclose(f);
        return 0;
    }
    if (fscanf(f, "%d %d", &w, &h) != 2 || w <= 0 || h <= 0)
        die("bad PBM header", path);
    c = fgetc(f); /* the single whitespace before the raster */
    (void) c;
    p->path = path;
    p->width = w;
    p->height = h;
    p->stride = (w + 7) / 8;
    p->size = (size_t) p->stride * h;
    if ((p->pix = malloc(p->size)) == NULL)
        die("out of memory", NULL);
    if (fread(p->pix, 1, p->size, f) != p->size)
        die("short PBM", path);
    fclose(f);
    snprintf(p->tiffpath, sizeof(p->tiffpath), "/tmp/faxkit-cref-pbm-XXXXXX");
    {
        int fd = mkstemp(p->tiffpath);
        if (fd < 0)
            die("mkstemp", strerror(errno));
        close(fd);
    }
    if ((tif = TIFFOpen(p->tiffpath, "w")) == NULL)
        die("cannot write", p->tiffpath);
    TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, (uint32_t) w);
    TIFFSetField(tif, TIFFTAG_IMAGELENGTH, (uint32_t) h);
    TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, 1);
    TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, 1);
    TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISWHITE);
    TIFFSetField(tif, TIFFTAG_FILLORDER, FILLORDER_MSB2LSB);
    TIFFSetField(tif, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
    TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, (uint32_t) h);
    TIFFSetField(tif, TIFFTAG_RESOLUTIONUNIT, RESUNIT_INCH);
    TIFFSetField(tif, TIFFTAG_XRESOLUTION, 204.0);
    TIFFSetField(tif, TIFFTAG_YRESOLUTION, 196.0);
    TIFFSetField(tif, TIFFTAG_COMPRESSION, COMPRESSION_NONE);
    if (TIFFWriteEncodedStrip(tif, 0, p->pix, (tmsize_t) p->size) < 0)
        die("cannot write", p->tiffpath);
    TIFFClose(tif);
    return 1;
}

static void load_page(page_t *p, const char *path)
{
    TIFF *tif;
    uint32_t w = 0, h = 0;
    uint16_t photometric = PHOTOMETRIC_MINISWHITE, bps = 1, spp = 1;
    const char *base;
    char *dot;

    if (load_pbm(p, path))
        goto name;
    if ((tif = TIFFOpen(path, "r")) == NULL)
        die("cannot open", path);
    TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &w);
    TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &h);
    TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &bps);
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &spp);
    TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &photometric);
    if (bps != 1 || spp != 1 || w == 0 || h == 0)
        die("not a bilevel page", path);
    p->path = path;
    p->width = (int) w;
    p->height = (int) h;
    p->stride = (p->width + 7) / 8;
    p->size = (size_t) p->stride * p->height;
    if ((p->pix = malloc(p->size)) == NULL)
        die("out of memory", NULL);
    for (uint32_t y = 0; y < h; y++)
    {
        if (TIFFReadScanline(tif, p->pix + (size_t) y * p->stride, y, 0) < 0)
            die("cannot read", path);
    }
    TIFFClose(tif);
    if (photometric == PHOTOMETRIC_MINISBLACK)
    {
        for (size_t i = 0; i < p->size; i++)
            p->pix[i] = ~p->pix[i];
    }
    if (p->width & 7)
    {
        uint8_t mask = (uint8_t) (0xFF << (8 - (p->width & 7)));
        for (int y = 0; y < p->height; y++)
            p->pix[(size_t) y * p->stride + p->stride - 1] &= mask;
    }
    snprintf(p->tiffpath, sizeof(p->tiffpath), "%s", "");
    p->path = path;
name:
    base = strrchr(path, '/');
    base = base ? base + 1 : path;
    snprintf(p->name, sizeof(p->name), "%s", base);
    if ((dot = strrchr(p->name, '.')) != NULL)
        *dot = '\0';
}

/* ---- libtiff on a memory buffer ---- */

typedef struct {
    uint8_t *buf;
    size_t len, cap, pos;
} memfile_t;

static tmsize_t mem_read(thandle_t h, void *dst, tmsize_t n)
{
    memfile_t *m = (memfile_t *) h;
    if (m->pos >= m->len)
        return 0;
    if ((size_t) n > m->len - m->pos)
        n = (tmsize_t) (m->len - m->pos);
    memcpy(dst, m->buf + m->pos, (size_t) n);
    m->pos += (size_t) n;
    return n;
}

static tmsize_t mem_write(thandle_t h, void *src, tmsize_t n)
{
    memfile_t *m = (memfile_t *) h;
    size_t end = m->pos + (size_t) n;
    if (end > m->cap)
    {
        size_t cap = m->cap ? m->cap : 65536;
        while (cap < end)
            cap *= 2;
        if ((m->buf = realloc(m->buf, cap)) == NULL)
            return -1;
        m->cap = cap;
    }
    if (m->pos > m->len)
        memset(m->buf + m->len, 0, m->pos - m->len);
    memcpy(m->buf + m->pos, src, (size_t) n);
    m->pos = end;
    if (end > m->len)
        m->len = end;
    return n;
}

static toff_t mem_seek(thandle_t h, toff_t off, int whence)
{
    memfile_t *m = (memfile_t *) h;
    switch (whence)
    {
    case SEEK_SET: m->pos = (size_t) off; break;
    case SEEK_CUR: m->pos += (size_t) off; break;
    case SEEK_END: m->pos = m->len + (size_t) off; break;
    }
    return (toff_t) m->pos;
}

static int mem_close(thandle_t h) { (void) h; return 0; }
static toff_t mem_size(thandle_t h) { return (toff_t) ((memfile_t *) h)->len; }
static int mem_map(thandle_t h, void **base, toff_t *size) { (void) h; (void) base; (void) size; return 0; }
static void mem_unmap(thandle_t h, void *base, toff_t size) { (void) h; (void) base; (void) size; }

static TIFF *mem_open(memfile_t *m, const char *mode)
{
    m->pos = 0;
    /* "m": no memory mapping, reads go through mem_read. */
    return TIFFClientOpen("mem", mode, (thandle_t) m, mem_read, mem_write, mem_seek,
                          mem_close, mem_size, mem_map, mem_unmap);
}

static void libtiff_set_fields(TIFF *tif, const page_t *p, int comp)
{
    TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, (uint32_t) p->width);
    TIFFSetField(tif, TIFFTAG_IMAGELENGTH, (uint32_t) p->height);
    TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, 1);
    TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, 1);
    TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISWHITE);
    TIFFSetField(tif, TIFFTAG_FILLORDER, FILLORDER_MSB2LSB);
    TIFFSetField(tif, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
    TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, (uint32_t) p->height);
    TIFFSetField(tif, TIFFTAG_RESOLUTIONUNIT, RESUNIT_INCH);
    TIFFSetField(tif, TIFFTAG_XRESOLUTION, 204.0);
    /* 196 lines/inch (fine): libtiff's G3 2-D encoder then uses K = 4. */
    TIFFSetField(tif, TIFFTAG_YRESOLUTION, 196.0);
    switch (comp)
    {
    case MH:
        TIFFSetField(tif, TIFFTAG_COMPRESSION, COMPRESSION_CCITTFAX3);
        TIFFSetField(tif, TIFFTAG_GROUP3OPTIONS, 0);
        break;
    case MR:
        TIFFSetField(tif, TIFFTAG_COMPRESSION, COMPRESSION_CCITTFAX3);
        TIFFSetField(tif, TIFFTAG_GROUP3OPTIONS, GROUP3OPT_2DENCODING);
        break;
    case MMR:
        TIFFSetField(tif, TIFFTAG_COMPRESSION, COMPRESSION_CCITTFAX4);
        break;
    }
}

/* Encodes p with libtiff into m (a complete TIFF); returns the median time and
   the coded strip size. */
static timing_t libtiff_encode(const page_t *p, int comp, memfile_t *m, size_t *coded)
{
    timing_t t[reps];
    for (int r = -1; r < reps; r++)
    {
        TIFF *tif;
        timing_t t0;

        m->len = m->pos = 0;
        if ((tif = mem_open(m, "wm")) == NULL)
            die("TIFFClientOpen(w) failed", p->name);
        libtiff_set_fields(tif, p, comp);
        t0 = now();
        if (TIFFWriteEncodedStrip(tif, 0, p->pix, (tmsize_t) p->size) < 0)
            die("TIFFWriteEncodedStrip failed", p->name);
        if (r >= 0)
            t[r] = since(t0);
        TIFFClose(tif);
    }
    {
        TIFF *tif = mem_open(m, "rm");
        uint64_t *counts = NULL;
        if (tif == NULL || !TIFFGetField(tif, TIFFTAG_STRIPBYTECOUNTS, &counts))
            die("cannot reopen the encoded TIFF", p->name);
        *coded = (size_t) counts[0];
        TIFFClose(tif);
    }
    return median(t, reps);
}

static timing_t libtiff_decode(const page_t *p, memfile_t *m, uint8_t *out)
{
    timing_t t[reps];
    TIFF *tif = mem_open(m, "rm");
    if (tif == NULL)
        die("TIFFClientOpen(r) failed", p->name);
    for (int r = -1; r < reps; r++)
    {
        timing_t t0;
        memset(out, 0x55, p->size);
        t0 = now();
        if (TIFFReadEncodedStrip(tif, 0, out, (tmsize_t) p->size) != (tmsize_t) p->size)
            die("TIFFReadEncodedStrip failed", p->name);
        if (r >= 0)
            t[r] = since(t0);
        if (memcmp(out, p->pix, p->size) != 0)
            die("libtiff decode differs from the page", p->name);
    }
    TIFFClose(tif);
    return median(t, reps);
}

/* ---- spandsp 0.0.6 ---- */

typedef struct {
    const page_t *p;
    int row;
    uint8_t *out;
    int rows_out;
} rows_t;

static int row_read(void *user, uint8_t buf[], size_t len)
{
    rows_t *c = (rows_t *) user;
    if (c->row >= c->p->height)
        return 0;
    memcpy(buf, c->p->pix + (size_t) c->row * c->p->stride, len);
    c->row++;
    return (int) len;
}

static int row_write(void *user, const uint8_t buf[], size_t len)
{
    rows_t *c = (rows_t *) user;
    if (len == 0)
        return 0; /* end of page */
    if (c->rows_out < c->p->height && len == (size_t) c->p->stride)
        memcpy(c->out + (size_t) c->rows_out * c->p->stride, buf, len);
    c->rows_out++;
    return 0;
}

static const int spandsp_enc[NCOMP] = {T4_COMPRESSION_ITU_T4_1D, T4_COMPRESSION_ITU_T4_2D, T4_COMPRESSION_ITU_T6};

/* Encodes p with spandsp; returns the median time, the coded bytes in *code
   (LSB first, as on the fax line) and their number. t4_tx_init needs a TIFF to
   take the width and resolution from: the page's own file (196 lines/inch,
   so 0.0.6 uses K = 4 for MR); the rows then come from memory. */
static timing_t spandsp_encode(const page_t *p, int comp, uint8_t **code, size_t *coded, const char **fail)
{
    timing_t t[reps];
    timing_t none = {0, 0};
    rows_t c = {p, 0, NULL, 0};
    t4_tx_state_t *s = t4_tx_init(NULL, p->tiffpath[0] ? p->tiffpath : p->path, -1, -1);
    size_t cap = 4 * p->size + 65536; /* an error-diffused photo codes larger than raw */
    int n;

    *fail = NULL;
    if (s == NULL)
        die("t4_tx_init failed", p->path);
    t4_tx_set_tx_encoding(s, spandsp_enc[comp]);
    t4_tx_set_min_bits_per_row(s, 0);
    t4_tx_set_header_info(s, NULL);
    t4_tx_set_row_read_handler(s, row_read, &c);
    for (int r = -1; r < reps; r++)
    {
        timing_t t0;
        c.row = 0;
        t0 = now();
        if (t4_tx_start_page(s) != 0)
        {
            *fail = "t4_tx_start_page failed";
            t4_tx_free(s);
            return none;
        }
        if (r >= 0)
            t[r] = since(t0);
    }
    if ((*code = malloc(cap)) == NULL)
        die("out of memory", NULL);
    n = t4_tx_get_chunk(s, *code, (int) cap);
    if (n <= 0 || (size_t) n >= cap)
    {
        /* 0.0.6 codes into a fixed buffer: a page that codes larger (an
           error-diffused photo) comes out cut short. */
        *fail = "t4_tx_get_chunk: page did not fit spandsp's buffer";
        t4_tx_free(s);
        return none;
    }
    *coded = (size_t) n;
    t4_tx_free(s);
    return median(t, reps);
}

static timing_t spandsp_decode(const page_t *p, int comp, const uint8_t *code, size_t coded, uint8_t *out, const char **fail)
{
    timing_t t[reps];
    timing_t none = {0, 0};
    char tmp[] = "/tmp/faxkit-cref-XXXXXX";
    int fd = mkstemp(tmp);
    rows_t c = {p, 0, out, 0};
    t4_rx_state_t *s;

    if (fd < 0)
        die("mkstemp", strerror(errno));
    close(fd);
    /* 0.0.6 opens an output TIFF in t4_rx_init; with a row write handler no
       page is written to it, and t4_rx_release removes the empty file. */
    if ((s = t4_rx_init(NULL, tmp, spandsp_enc[comp])) == NULL)
        die("t4_rx_init failed", tmp);
    t4_rx_set_rx_encoding(s, spandsp_enc[comp]);
    t4_rx_set_image_width(s, p->width);
    t4_rx_set_row_write_handler(s, row_write, &c);
    for (int r = -1; r < reps; r++)
    {
        timing_t t0;
        t4_stats_t st;
        memset(out, 0x55, p->size);
        c.rows_out = 0;
        t0 = now();
        *fail = NULL;
        if (t4_rx_start_page(s) != 0)
            *fail = "t4_rx_start_page failed";
        t4_rx_put_chunk(s, code, (int) coded);
        if (*fail == NULL && t4_rx_end_page(s) != 0)
            *fail = "t4_rx_end_page failed";
        if (*fail != NULL)
            break;
        if (r >= 0)
            t[r] = since(t0);
        t4_rx_get_transfer_statistics(s, &st);
        if (c.rows_out != p->height || st.bad_rows != 0 || memcmp(out, p->pix, p->size) != 0)
        {
            fprintf(stderr, "bench: spandsp %s %s: %d rows (want %d), %d bad rows\n",
                    comp_name[comp], p->name, c.rows_out, p->height, st.bad_rows);
            *fail = "decode differs from the page";
            break;
        }
    }
    t4_rx_free(s);
    unlink(tmp);
    if (*fail != NULL)
        return none;
    return median(t, reps);
}

/* ---- main ---- */

typedef struct {
    double wall_sum, cpu_sum;
    double bytes_sum;
} total_t;

static void report(const char *lib, const char *op, int comp, const page_t *p, timing_t m, size_t coded, total_t *tot)
{
    printf("RESULT %s %s %s %s %.2f %.0f %zu %.2f %.0f\n", lib, op, comp_name[comp], p->name,
           (double) p->size / m.wall * 1e3, m.wall, coded, (double) p->size / m.cpu * 1e3, m.cpu);
    fflush(stdout);
    tot->wall_sum += m.wall;
    tot->cpu_sum += m.cpu;
    tot->bytes_sum += (double) p->size;
}

int main(int argc, char **argv)
{
    page_t pages[MAXPAGES];
    int npages = 0;
    int opt;
    /* [lib][op][comp]: lib 0 libtiff, 1 spandsp; op 0 encode, 1 decode */
    total_t tot[2][2][NCOMP];
    static const char *libs[2] = {"libtiff", "spandsp"};
    static const char *ops[2] = {"encode", "decode"};

    while ((opt = getopt(argc, argv, "n:")) != -1)
    {
        if (opt == 'n' && atoi(optarg) > 0)
            reps = atoi(optarg);
        else
            die("usage: bench [-n REPS] page.tif...", NULL);
    }
    if (optind >= argc)
        die("usage: bench [-n REPS] page.tif...", NULL);
    TIFFSetWarningHandler(NULL);
    for (int i = optind; i < argc && npages < MAXPAGES; i++)
        load_page(&pages[npages++], argv[i]);
    memset(tot, 0, sizeof(tot));
    {
        const char *v = TIFFGetVersion();
        printf("# %.*s; spandsp 0.0.6 (%s); %d repetitions per measurement; MB/s = 1e6 raw page bytes/s\n",
               (int) strcspn(v, "\n"), v, SPANDSP_RELEASE_DATETIME_STRING, reps);
    }

    for (int comp = 0; comp < NCOMP; comp++)
    {
        for (int i = 0; i < npages; i++)
        {
            page_t *p = &pages[i];
            uint8_t *out = malloc(p->size);
            memfile_t m = {0};
            uint8_t *code = NULL;
            size_t coded = 0;
            timing_t ns;
            const char *fail = NULL;

            if (out == NULL)
                die("out of memory", NULL);
            ns = libtiff_encode(p, comp, &m, &coded);
            report(libs[0], ops[0], comp, p, ns, coded, &tot[0][0][comp]);
            ns = libtiff_decode(p, &m, out);
            report(libs[0], ops[1], comp, p, ns, coded, &tot[0][1][comp]);

            /* A page spandsp cannot code or decode is skipped (SKIP line),
               not fatal: its cells have no spandsp figure, and spandsp's
               TOTAL covers the other pages. */
            ns = spandsp_encode(p, comp, &code, &coded, &fail);
            if (fail != NULL)
            {
                printf("SKIP spandsp encode %s %s %s\n", comp_name[comp], p->name, fail);
                printf("SKIP spandsp decode %s %s no spandsp coding to decode\n", comp_name[comp], p->name);
                fflush(stdout);
            }
            else
            {
                report(libs[1], ops[0], comp, p, ns, coded, &tot[1][0][comp]);
                ns = spandsp_decode(p, comp, code, coded, out, &fail);
                if (fail != NULL)
                {
                    printf("SKIP spandsp decode %s %s %s\n", comp_name[comp], p->name, fail);
                    fflush(stdout);
                }
                else
                    report(libs[1], ops[1], comp, p, ns, coded, &tot[1][1][comp]);
            }

            free(code);
            free(m.buf);
            free(out);
        }
    }
    for (int lib = 0; lib < 2; lib++)
        for (int op = 0; op < 2; op++)
            for (int comp = 0; comp < NCOMP; comp++)
                printf("TOTAL %s %s %s %d %.2f %.2f\n", libs[lib], ops[op], comp_name[comp], npages,
                       tot[lib][op][comp].bytes_sum / tot[lib][op][comp].wall_sum * 1e3,
                       tot[lib][op][comp].bytes_sum / tot[lib][op][comp].cpu_sum * 1e3);
    for (int i = 0; i < npages; i++)
        if (pages[i].tiffpath[0])
            unlink(pages[i].tiffpath);
    return 0;
}
