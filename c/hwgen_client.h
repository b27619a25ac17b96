/*
 * hwgen's C client library: drives a board carrying an hwgen build over any byte link (a serial port, a
 * pipe, a socket) with the link protocol of docs/protocol.md — frames, CRC-32, sequence numbers, resends on
 * NAK or timeout with growing waits — and loads and runs a model from its load image (model.img,
 * docs/load-image.md), so a host never parses a bundle. Plain C99 and POSIX; every protocol constant comes
 * from the generated hwgen_link.h and hwgen_commands.h.
 */
#ifndef HWGEN_CLIENT_H
#define HWGEN_CLIENT_H

#include <stddef.h>
#include <stdint.h>

/* A link to one board. Fill `timeout_ms` and `tries` (or keep hwgen_open's defaults). */
typedef struct {
    int rfd, wfd;
    int timeout_ms; /* reply timeout of the first try; each resend waits 1.5 times longer, up to 8 times this */
    int tries;      /* sends per request, the first included */
    uint32_t seq;
    int seq_synced; /* seq was set past the board's lastSeq (STATUS) before the first COMMAND */
    uint32_t max_payload; /* the board's frame buffer in words, from IDENTIFY (0 before) */
    uint32_t build_hash;  /* the board's config hash, from IDENTIFY */
    uint8_t *rx;          /* bytes received and not yet taken as a frame */
    size_t rx_len, rx_cap;
    unsigned long retries, frames, bytes_sent, bytes_received;
    char error[256]; /* why the last call failed */
} hwgen_link;

/* What IDENTIFY tells. */
typedef struct {
    uint32_t link_version, hwgen_version, config_hash, clock_hz, max_payload_words, config_words;
    char engine[5];
    uint32_t config[64];
} hwgen_identity;

/* One frame of a load image: its payload, the status words its answer must carry, and (CHECK) the CRCs. */
typedef struct {
    uint32_t n_payload, n_status;
    const uint32_t *payload, *status, *crcs;
} hwgen_frame;

typedef struct {
    uint32_t n;
    hwgen_frame *frames;
} hwgen_section;

/* A value's place: a word (of the input frames' payloads, or of the read answers' data) and bits in it. */
typedef struct {
    uint32_t word;
    uint8_t shift, width, is_signed;
} hwgen_slot;

typedef struct {
    uint32_t *words; /* the file */
    uint32_t config_hash, frame_words, inputs, outputs;
    hwgen_section load, check, input, run, read;
    hwgen_slot *input_slots, *output_slots;
    const uint32_t *pixel_table; /* 256 entries: the engine's integer for pixel p taken as p / 255 */
    uint32_t input_words, read_words;
} hwgen_image;

/* Opens `device`: a path (a serial port is set raw at `baud`), or fd:R[,W] for open file descriptors. 0 or -1. */
int hwgen_open(hwgen_link *l, const char *device, unsigned baud);
void hwgen_close(hwgen_link *l);

/* One request; on ACK its payload goes to reply (at most `max` words, the count in *got). 0 or -1 (l->error). */
int hwgen_request(hwgen_link *l, uint32_t type, const uint32_t *payload, uint32_t n, uint32_t *reply, uint32_t max, uint32_t *got);

int hwgen_identify(hwgen_link *l, hwgen_identity *id);

/* Reads a load image; 0 or -1 with the reason in err. */
int hwgen_image_read(hwgen_image *img, const char *path, char *err, size_t err_len);
void hwgen_image_free(hwgen_image *img);

/* Sends the image's LOAD frames, then proves every memory by CHECKSUM (hwgen_verify). 0 or -1. */
int hwgen_load(hwgen_link *l, const hwgen_image *img);
/* 0 when every memory's CHECKSUM equals the image's, -1 otherwise (l->error names the first that differs). */
int hwgen_verify(hwgen_link *l, const hwgen_image *img);
/* One inference: `input` in the engine's integers (img->inputs of them); img->outputs values out. 0 or -1. */
int hwgen_run(hwgen_link *l, const hwgen_image *img, const int32_t *input, int32_t *output, uint32_t *cycles);

#endif /* HWGEN_CLIENT_H */
