/*
 * peer: libtiff as an independent peer for faxkit's tiff package tests.
 *
 *   peer write OUT.tif COMPRESSION FILLORDER ROWSPERSTRIP IN.pbm...
 *       writes one page per P4 PBM with libtiff. COMPRESSION is one of
 *       none packbits rle g3 g3-2d g3-fill g3-2d-fill g4 lzw zip;
 *       FILLORDER is 1 or 2; ROWSPERSTRIP 0 means one strip per page.
 *   peer read IN.tif
 *       decodes every page with libtiff (TIFFReadScanline) and writes it to
 *       stdout as a P4 PBM (1 = black), one after the other.
 *
 * Written for faxkit; uses only libtiff's public API.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tiffio.h>

static int read_pbm(FILE *f, int *w, int *h, unsigned char **pix)
{
    char magic[3] = {0};
    if (fscanf(f, "%2s", magic) != 1 || strcmp(magic, "P4") != 0)
        return -1;
    if (fscanf(f, "%d %d", w, h) != 2)
        return -1;
    fgetc(f);
    size_t n = (size_t) ((*w + 7) / 8) * (size_t) *h;
    *pix = malloc(n);
    if (*pix == NULL || fread(*pix, 1, n, f) != n)
        return -1;
    return 0;
}

static int do_write(int argc, char **argv)
{
    const char *comp = argv[3];
    int fill = atoi(argv[4]);
    int rps = atoi(argv[5]);
    int npages = argc - 6;
    TIFF *t = TIFFOpen(argv[2], "w");
    if (t == NULL)
        return 1;
    for (int p = 0; p < npages; p++) {
        FILE *f = fopen(argv[6 + p], "rb");
        int w, h;
        unsigned char *pix;
        if (f == NULL || read_pbm(f, &w, &h, &pix) != 0) {
            fprintf(stderr, "bad pbm %s\n", argv[6 + p]);
            return 1;
        }
        fclose(f);
        int c = COMPRESSION_NONE;
        uint32_t t4opt = 0;
        if (strcmp(comp, "packbits") == 0) c = COMPRESSION_PACKBITS;
        else if (strcmp(comp, "rle") == 0) c = COMPRESSION_CCITTRLE;
        else if (strcmp(comp, "g3") == 0) c = COMPRESSION_CCITTFAX3;
        else if (strcmp(comp, "g3-2d") == 0) { c = COMPRESSION_CCITTFAX3; t4opt = GROUP3OPT_2DENCODING; }
        else if (strcmp(comp, "g3-fill") == 0) { c = COMPRESSION_CCITTFAX3; t4opt = GROUP3OPT_FILLBITS; }
        else if (strcmp(comp, "g3-2d-fill") == 0) { c = COMPRESSION_CCITTFAX3; t4opt = GROUP3OPT_2DENCODING | GROUP3OPT_FILLBITS; }
        else if (strcmp(comp, "g4") == 0) c = COMPRESSION_CCITTFAX4;
        else if (strcmp(comp, "lzw") == 0) c = COMPRESSION_LZW;
        else if (strcmp(comp, "zip") == 0) c = COMPRESSION_ADOBE_DEFLATE;
        else if (strcmp(comp, "none") != 0) { fprintf(stderr, "bad compression\n"); return 1; }
        TIFFSetField(t, TIFFTAG_SUBFILETYPE, FILETYPE_PAGE);
        TIFFSetField(t, TIFFTAG_IMAGEWIDTH, w);
        TIFFSetField(t, TIFFTAG_IMAGELENGTH, h);
        TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 1);
        TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1);
        TIFFSetField(t, TIFFTAG_COMPRESSION, c);
        TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISWHITE);
        TIFFSetField(t, TIFFTAG_FILLORDER, fill == 2 ? FILLORDER_LSB2MSB : FILLORDER_MSB2LSB);
        TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
        TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, rps > 0 ? rps : h);
        TIFFSetField(t, TIFFTAG_XRESOLUTION, 204.0);
        TIFFSetField(t, TIFFTAG_YRESOLUTION, 196.0);
        TIFFSetField(t, TIFFTAG_RESOLUTIONUNIT, RESUNIT_INCH);
        TIFFSetField(t, TIFFTAG_PAGENUMBER, p, npages);
        if (c == COMPRESSION_CCITTFAX3)
            TIFFSetField(t, TIFFTAG_GROUP3OPTIONS, t4opt);
        size_t stride = (size_t) (w + 7) / 8;
        for (int y = 0; y < h; y++) {
            if (TIFFWriteScanline(t, pix + y * stride, y, 0) < 0)
                return 1;
        }
        free(pix);
        if (!TIFFWriteDirectory(t))
            return 1;
    }
    TIFFClose(t);
    return 0;
}

static int do_read(const char *name)
{
    TIFF *t = TIFFOpen(name, "r");
    if (t == NULL)
        return 1;
    do {
        uint32_t w, h;
        uint16_t photo = PHOTOMETRIC_MINISWHITE, bps = 1;
        TIFFGetField(t, TIFFTAG_IMAGEWIDTH, &w);
        TIFFGetField(t, TIFFTAG_IMAGELENGTH, &h);
        TIFFGetFieldDefaulted(t, TIFFTAG_BITSPERSAMPLE, &bps);
        TIFFGetField(t, TIFFTAG_PHOTOMETRIC, &photo);
        if (bps != 1) {
            fprintf(stderr, "not bilevel\n");
            return 1;
        }
        size_t stride = (w + 7) / 8;
        unsigned char *row = malloc(TIFFScanlineSize(t) > (tmsize_t) stride ? (size_t) TIFFScanlineSize(t) : stride);
        printf("P4\n%u %u\n", w, h);
        for (uint32_t y = 0; y < h; y++) {
            if (TIFFReadScanline(t, row, y, 0) < 0)
                return 1;
            if (photo == PHOTOMETRIC_MINISBLACK)
                for (size_t i = 0; i < stride; i++)
                    row[i] = ~row[i];
            if (w % 8)
                row[stride - 1] &= (unsigned char) (0xff << (8 - w % 8));
            fwrite(row, 1, stride, stdout);
        }
        free(row);
    } while (TIFFReadDirectory(t));
    TIFFClose(t);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 7 && strcmp(argv[1], "write") == 0)
        return do_write(argc, argv);
    if (argc == 3 && strcmp(argv[1], "read") == 0)
        return do_read(argv[2]);
    fprintf(stderr, "usage: peer write OUT COMP FILL RPS IN.pbm... | peer read IN\n");
    return 2;
}
