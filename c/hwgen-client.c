/*
 * hwgen-client: drives a board carrying an hwgen build from any POSIX host, with no Node and no bundle parser.
 *
 *   hwgen-client [-b BAUD] [-t TIMEOUT_MS] [-r TRIES] [-m IMAGE] DEVICE info
 *   hwgen-client ... DEVICE load [IMAGE]          stream the image's weights, then verify them by checksum
 *   hwgen-client ... DEVICE verify [IMAGE]        prove the board holds the image's model
 *   hwgen-client ... [-i] DEVICE run IN OUT       IN: uint8 pixels, inputs back to back (-i: int32 values
 *                                                 as the engine takes them); OUT: int32 outputs, a row each
 *
 * DEVICE is a serial port (set raw at BAUD, 3000000 by default), any other path that carries the link (a
 * FIFO, a pty), or fd:R[,W] for descriptors already open. IMAGE is model.img unless -m says otherwise.
 */
#include "hwgen_client.h"
#include "hwgen_link.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int usage(void) {
    fprintf(stderr,
            "usage: hwgen-client [-b BAUD] [-t TIMEOUT_MS] [-r TRIES] [-m IMAGE] [-i] DEVICE info | load [IMAGE] | verify [IMAGE] | run IN OUT\n");
    return 2;
}

static long number(const char *flag, const char *text, long lo, long hi) {
    char *end;
    long v = strtol(text, &end, 10);
    if (!*text || *end || v < lo || v > hi) {
        fprintf(stderr, "hwgen-client: %s %s: give a whole number from %ld to %ld\n", flag, text, lo, hi);
        exit(2);
    }
    return v;
}

static int image(hwgen_image *img, const char *path) {
    char err[512];
    if (hwgen_image_read(img, path, err, sizeof err) == 0) return 0;
    fprintf(stderr, "hwgen-client: %s\n", err);
    return -1;
}

static int run(hwgen_link *l, const hwgen_image *img, const char *in_path, const char *out_path, int int32_in) {
    size_t per = int32_in ? 4u * img->inputs : img->inputs, n = 0, i;
    unsigned char *raw = malloc(per ? per : 1);
    int32_t *x = malloc(4 * ((size_t)img->inputs + 1)), *y = malloc(4 * ((size_t)img->outputs + 1));
    unsigned long long cycles = 0;
    FILE *in = fopen(in_path, "rb"), *out;
    int rc = 1;
    if (!in) {
        fprintf(stderr, "hwgen-client: %s: cannot open it\n", in_path);
        return 1;
    }
    out = fopen(out_path, "wb");
    if (!out) {
        fprintf(stderr, "hwgen-client: %s: cannot write it\n", out_path);
        fclose(in);
        return 1;
    }
    for (;;) {
        size_t got = fread(raw, 1, per, in);
        uint32_t c;
        if (got == 0) break;
        if (got != per) {
            fprintf(stderr, "hwgen-client: %s: %lu bytes after the last whole input; each input is %lu bytes (%u values%s)\n", in_path, (unsigned long)got,
                    (unsigned long)per, img->inputs, int32_in ? " of 4 bytes" : ", one byte each");
            goto done;
        }
        for (i = 0; i < img->inputs; i++)
            x[i] = int32_in ? (int32_t)((uint32_t)raw[4 * i] | (uint32_t)raw[4 * i + 1] << 8 | (uint32_t)raw[4 * i + 2] << 16 | (uint32_t)raw[4 * i + 3] << 24)
                            : (int32_t)img->pixel_table[raw[i]];
        if (hwgen_run(l, img, x, y, &c) < 0) {
            fprintf(stderr, "hwgen-client: input %lu: %s\n", (unsigned long)n, l->error);
            goto done;
        }
        for (i = 0; i < img->outputs; i++) {
            uint32_t v = (uint32_t)y[i];
            unsigned char b[4];
            b[0] = (unsigned char)v;
            b[1] = (unsigned char)(v >> 8);
            b[2] = (unsigned char)(v >> 16);
            b[3] = (unsigned char)(v >> 24);
            fwrite(b, 1, 4, out);
        }
        cycles += c;
        n++;
    }
    printf("ran %lu input(s): %llu cycles per inference on average; %lu frames, %lu retries\n", (unsigned long)n, n ? cycles / n : 0, l->frames, l->retries);
    rc = 0;
done:
    fclose(in);
    if (fclose(out) != 0) rc = 1;
    free(raw);
    free(x);
    free(y);
    return rc;
}

int main(int argc, char **argv) {
    unsigned baud = HWGEN_DEFAULT_BAUD;
    const char *img_path = "model.img";
    int timeout = 0, tries = 0, int32_in = 0, a = 1, rc;
    hwgen_link l;
    hwgen_image img;
    const char *device, *cmd;
    for (; a < argc && argv[a][0] == '-' && argv[a][1]; a++) {
        if (!strcmp(argv[a], "-i")) int32_in = 1;
        else if (a + 1 < argc && !strcmp(argv[a], "-b")) baud = (unsigned)number("-b", argv[++a], 300, 20000000);
        else if (a + 1 < argc && !strcmp(argv[a], "-t")) timeout = (int)number("-t", argv[++a], 1, 600000);
        else if (a + 1 < argc && !strcmp(argv[a], "-r")) tries = (int)number("-r", argv[++a], 1, 1000);
        else if (a + 1 < argc && !strcmp(argv[a], "-m")) img_path = argv[++a];
        else return usage();
    }
    if (argc - a < 2) return usage();
    device = argv[a];
    cmd = argv[a + 1];
    if (hwgen_open(&l, device, baud) < 0) {
        fprintf(stderr, "hwgen-client: %s\n", l.error);
        return 1;
    }
    if (timeout) l.timeout_ms = timeout;
    if (tries) l.tries = tries;
    if (!strcmp(cmd, "info") && argc - a == 2) {
        hwgen_identity id;
        uint32_t i;
        rc = hwgen_identify(&l, &id);
        if (rc == 0) {
            printf("%s: %s engine %08x, hwgen %u.%u.%u, link protocol %u, clock %.2f MHz, frames of up to %u words\nconfig", device, id.engine, id.config_hash,
                   id.hwgen_version >> 16, (id.hwgen_version >> 8) & 0xffu, id.hwgen_version & 0xffu, id.link_version, id.clock_hz / 1e6, id.max_payload_words);
            for (i = 0; i < id.config_words; i++) printf(" %u", id.config[i]);
            printf("\n");
        }
    } else if ((!strcmp(cmd, "load") || !strcmp(cmd, "verify")) && argc - a <= 3) {
        if (argc - a == 3) img_path = argv[a + 2];
        if (image(&img, img_path) < 0) return 1;
        rc = !strcmp(cmd, "load") ? hwgen_load(&l, &img) : hwgen_verify(&l, &img);
        if (rc == 0) printf("%s: the board holds %s (every memory's checksum matches); %lu frames, %lu retries\n", cmd, img_path, l.frames, l.retries);
        hwgen_image_free(&img);
    } else if (!strcmp(cmd, "run") && argc - a == 4) {
        if (image(&img, img_path) < 0) return 1;
        rc = run(&l, &img, argv[a + 2], argv[a + 3], int32_in);
        hwgen_image_free(&img);
        hwgen_close(&l);
        return rc;
    } else {
        hwgen_close(&l);
        return usage();
    }
    if (rc < 0) fprintf(stderr, "hwgen-client: %s\n", l.error);
    hwgen_close(&l);
    return rc < 0 ? 1 : 0;
}
