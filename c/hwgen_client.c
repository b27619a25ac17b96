/* hwgen's C client library (hwgen_client.h): the link protocol and the load image. */
#define _DEFAULT_SOURCE
#include "hwgen_client.h"
#include "hwgen_link.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define SEQ_MASK HWGEN_FRAME_SEQ(0xffffffffu)

static int fail(hwgen_link *l, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(l->error, sizeof l->error, fmt, ap);
    va_end(ap);
    return -1;
}

static speed_t speed_of(unsigned baud) {
    switch (baud) {
    case 9600: return B9600;
    case 19200: return B19200;
    case 38400: return B38400;
    case 57600: return B57600;
    case 115200: return B115200;
    case 230400: return B230400;
    case 460800: return B460800;
    case 921600: return B921600;
    case 1000000: return B1000000;
    case 2000000: return B2000000;
    case 3000000: return B3000000;
    case 4000000: return B4000000;
    default: return 0;
    }
}

int hwgen_open(hwgen_link *l, const char *device, unsigned baud) {
    memset(l, 0, sizeof *l);
    l->timeout_ms = 500;
    l->tries = 6;
    l->rfd = l->wfd = -1;
    if (strncmp(device, "fd:", 3) == 0) {
        char *end;
        long r = strtol(device + 3, &end, 10), w = r;
        if (*end == ',') w = strtol(end + 1, &end, 10);
        if (*end || r < 0 || w < 0) return fail(l, "device '%s': expected fd:R or fd:R,W (open file descriptors)", device);
        l->rfd = (int)r;
        l->wfd = (int)w;
        return 0;
    }
    l->rfd = l->wfd = open(device, O_RDWR | O_NOCTTY);
    if (l->rfd < 0) return fail(l, "%s: cannot open it (%s); check the device name and its permissions", device, strerror(errno));
    if (isatty(l->rfd)) {
        struct termios t;
        speed_t s = speed_of(baud);
        if (!s) {
            close(l->rfd);
            return fail(l, "%s: %u baud is not a rate this client sets (9600 .. 4000000, the standard ones)", device, baud);
        }
        if (tcgetattr(l->rfd, &t) != 0) return fail(l, "%s: not a serial port (%s)", device, strerror(errno));
        cfmakeraw(&t);
        cfsetispeed(&t, s);
        cfsetospeed(&t, s);
        t.c_cc[VMIN] = 0;
        t.c_cc[VTIME] = 0;
        if (tcsetattr(l->rfd, TCSANOW, &t) != 0) return fail(l, "%s: cannot set it raw at %u baud (%s)", device, baud, strerror(errno));
    }
    return 0;
}

void hwgen_close(hwgen_link *l) {
    if (l->rfd >= 0) close(l->rfd);
    if (l->wfd >= 0 && l->wfd != l->rfd) close(l->wfd);
    free(l->rx);
    l->rx = NULL;
    l->rfd = l->wfd = -1;
}

static void put32(uint8_t *p, uint32_t w) {
    p[0] = (uint8_t)w;
    p[1] = (uint8_t)(w >> 8);
    p[2] = (uint8_t)(w >> 16);
    p[3] = (uint8_t)(w >> 24);
}

static uint32_t get32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t crc32_of(const uint8_t *b, size_t n) {
    return hwgen_crc32_update(HWGEN_CRC32_INIT, b, n) ^ HWGEN_CRC32_XOROUT;
}

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int write_all(hwgen_link *l, const uint8_t *b, size_t n) {
    while (n) {
        ssize_t k = write(l->wfd, b, n);
        if (k < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (k <= 0) return fail(l, "cannot write to the board (%s)", k < 0 ? strerror(errno) : "nothing written");
        b += k;
        n -= (size_t)k;
        l->bytes_sent += (unsigned long)k;
    }
    return 0;
}

/* The next whole frame with a good CRC in the bytes received (its type, seq, payload), or 0 when there is none
 * yet. Garbage before a magic word, and frames whose CRC fails, are skipped a byte at a time, as the shell does. */
static int take_frame(hwgen_link *l, uint32_t *type, uint32_t *seq, uint32_t *payload, uint32_t max, uint32_t *n) {
    size_t at = 0;
    while (at + 8 <= l->rx_len) {
        uint32_t h, words;
        size_t len;
        if (get32(l->rx + at) != HWGEN_FRAME_MAGIC) {
            at++;
            continue;
        }
        h = get32(l->rx + at + 4);
        words = HWGEN_FRAME_WORDS(h);
        len = 4 * ((size_t)words + HWGEN_FRAME_OVERHEAD_WORDS);
        if (words > max) { /* longer than any reply we expect: a damaged length */
            at++;
            continue;
        }
        if (at + len > l->rx_len) break;
        if (crc32_of(l->rx + at, len - 4) != get32(l->rx + at + len - 4)) {
            at++;
            continue;
        }
        {
            uint32_t i;
            for (i = 0; i < words; i++) payload[i] = get32(l->rx + at + 8 + 4 * i);
        }
        *type = HWGEN_FRAME_TYPE(h);
        *seq = HWGEN_FRAME_SEQ(h);
        *n = words;
        memmove(l->rx, l->rx + at + len, l->rx_len - at - len);
        l->rx_len -= at + len;
        return 1;
    }
    memmove(l->rx, l->rx + at, l->rx_len - at);
    l->rx_len -= at;
    return 0;
}

/* Waits up to `ms` for more bytes; 1 when some came, 0 on timeout, -1 when the link is gone. */
static int receive(hwgen_link *l, int ms) {
    struct pollfd p;
    ssize_t k;
    int r;
    p.fd = l->rfd;
    p.events = POLLIN;
    r = poll(&p, 1, ms < 0 ? 0 : ms);
    if (r < 0 && errno == EINTR) return 0;
    if (r < 0) return fail(l, "the link failed (%s)", strerror(errno));
    if (r == 0) return 0;
    if (l->rx_len + 4096 > l->rx_cap) {
        size_t cap = l->rx_cap ? l->rx_cap * 2 : 65536;
        uint8_t *rx = realloc(l->rx, cap);
        if (!rx) return fail(l, "out of memory");
        l->rx = rx;
        l->rx_cap = cap;
    }
    k = read(l->rfd, l->rx + l->rx_len, 4096);
    if (k < 0 && (errno == EINTR || errno == EAGAIN)) return 0;
    if (k < 0) return fail(l, "cannot read from the board (%s)", strerror(errno));
    if (k == 0) {
        if (p.revents & (POLLHUP | POLLERR)) return fail(l, "the board closed the link; check it and open the device again");
        return 0;
    }
    l->rx_len += (size_t)k;
    l->bytes_received += (unsigned long)k;
    return 1;
}

static int request(hwgen_link *l, uint32_t type, const uint32_t *payload, uint32_t n, uint32_t *reply, uint32_t max, uint32_t *got);

/* The shell answers a COMMAND whose sequence number is that of the last one it executed from its stored reply
 * (so a resend never runs twice): a new client, whose numbers start anew, must start past the board's lastSeq
 * or its first COMMAND may get the previous client's answer. STATUS tells lastSeq and changes nothing. */
int hwgen_request(hwgen_link *l, uint32_t type, const uint32_t *payload, uint32_t n, uint32_t *reply, uint32_t max, uint32_t *got) {
    if (type == HWGEN_FRAME_COMMAND && !l->seq_synced) {
        uint32_t st[HWGEN_LINK_STATUS_WORDS + 8], k;
        if (request(l, HWGEN_FRAME_STATUS, NULL, 0, st, HWGEN_LINK_STATUS_WORDS + 8, &k) < 0) return -1;
        if (k < HWGEN_LINK_STATUS_WORDS) return fail(l, "the board's STATUS answer is malformed (%u words)", k);
        if (st[HWGEN_LINK_STATUS_LAST_SEQ] != HWGEN_NO_LAST_SEQ) l->seq = (st[HWGEN_LINK_STATUS_LAST_SEQ] + 1) & SEQ_MASK;
        l->seq_synced = 1;
    }
    return request(l, type, payload, n, reply, max, got);
}

static int request(hwgen_link *l, uint32_t type, const uint32_t *payload, uint32_t n, uint32_t *reply, uint32_t max, uint32_t *got) {
    size_t len = 4 * ((size_t)n + HWGEN_FRAME_OVERHEAD_WORDS);
    uint8_t *frame = malloc(len);
    uint32_t *answer = malloc(4 * ((size_t)HWGEN_MAX_PAYLOAD_WORDS + 1));
    uint32_t seq = l->seq, i, last_nak = 0;
    int tries, wait = l->timeout_ms, rc = -1;
    if (!frame || !answer) {
        free(frame);
        free(answer);
        return fail(l, "out of memory");
    }
    l->seq = (l->seq + 1) & SEQ_MASK;
    put32(frame, HWGEN_FRAME_MAGIC);
    put32(frame + 4, HWGEN_FRAME_HEADER(type, seq, n));
    for (i = 0; i < n; i++) put32(frame + 8 + 4 * i, payload[i]);
    put32(frame + len - 4, crc32_of(frame, len - 4));
    for (tries = 0; tries < l->tries && rc < 0; tries++) {
        long long deadline;
        int resend = 0;
        if (tries) l->retries++;
        if (write_all(l, frame, len) < 0) goto out;
        l->frames++;
        deadline = now_ms() + wait;
        while (!resend) {
            uint32_t rtype, rseq, rn;
            int r;
            while (take_frame(l, &rtype, &rseq, answer, HWGEN_MAX_PAYLOAD_WORDS, &rn)) {
                if (rseq != seq) continue; /* a late answer to an earlier request */
                if (rtype == HWGEN_FRAME_ACK) {
                    if (rn > max) {
                        fail(l, "request %u: the answer has %u words, more than the %u expected", seq, rn, max);
                        goto out;
                    }
                    memcpy(reply, answer, 4 * (size_t)rn);
                    *got = rn;
                    rc = 0;
                    goto out;
                }
                if (rtype == HWGEN_FRAME_NAK && rn >= 1) {
                    last_nak = answer[0];
                    if (last_nak == HWGEN_NAK_BAD_CRC || last_nak == HWGEN_NAK_BUSY || (last_nak == HWGEN_NAK_TOO_LONG && (!l->max_payload || n <= l->max_payload))) {
                        resend = 1;
                        break;
                    }
                    fail(l, "the board refused request %u (type %u): NAK reason %u", seq, type, last_nak);
                    goto out;
                }
            }
            if (resend) break;
            r = receive(l, (int)(deadline - now_ms()));
            if (r < 0) goto out;
            if (r == 0 && now_ms() >= deadline) break;
        }
        wait = wait * 3 / 2 > 8 * l->timeout_ms ? 8 * l->timeout_ms : wait * 3 / 2;
        l->rx_len = 0; /* a frame cut short by a lost byte never completes: start afresh */
    }
    fail(l, "no good answer to request %u after %d tries%s; check the cable, the port, the baud rate and that the board carries an hwgen build", seq, l->tries,
         last_nak ? " (the last was a NAK)" : "");
out:
    free(frame);
    free(answer);
    return rc;
}

int hwgen_identify(hwgen_link *l, hwgen_identity *id) {
    uint32_t w[HWGEN_IDENTITY_WORDS + 64], n, i;
    if (hwgen_request(l, HWGEN_FRAME_IDENTIFY, NULL, 0, w, HWGEN_IDENTITY_WORDS + 64, &n) < 0) return -1;
    if (n < HWGEN_IDENTITY_WORDS || w[HWGEN_IDENTITY_CONFIG_WORDS] != n - HWGEN_IDENTITY_WORDS) return fail(l, "the board's identity is malformed (%u words); is it an hwgen build?", n);
    if (w[HWGEN_IDENTITY_LINK_VERSION] != HWGEN_LINK_VERSION) return fail(l, "the board speaks link protocol version %u; this client speaks %u", w[0], HWGEN_LINK_VERSION);
    id->link_version = w[HWGEN_IDENTITY_LINK_VERSION];
    id->hwgen_version = w[HWGEN_IDENTITY_HWGEN_VERSION];
    id->config_hash = w[HWGEN_IDENTITY_CONFIG_HASH];
    id->clock_hz = w[HWGEN_IDENTITY_CLOCK_HZ];
    id->max_payload_words = w[HWGEN_IDENTITY_MAX_PAYLOAD_WORDS];
    id->config_words = w[HWGEN_IDENTITY_CONFIG_WORDS];
    for (i = 0; i < 4; i++) id->engine[i] = (char)(w[HWGEN_IDENTITY_ENGINE] >> (8 * i));
    id->engine[4] = 0;
    for (i = 0; i < id->config_words; i++) id->config[i] = w[HWGEN_IDENTITY_WORDS + i];
    l->max_payload = id->max_payload_words;
    l->build_hash = id->config_hash;
    return 0;
}

/* ───────────────────────── the load image (docs/load-image.md) ───────────────────────── */

#define IMAGE_MAGIC 0x49575748u /* "HWGI" */
#define IMAGE_VERSION 1u
#define IMAGE_HEADER_WORDS 7u
#define TAG(a, b, c, d) ((uint32_t)(a) | (uint32_t)(b) << 8 | (uint32_t)(c) << 16 | (uint32_t)(d) << 24)

typedef struct {
    const uint32_t *w;
    uint32_t n, at;
    int bad;
} cursor;

static uint32_t next(cursor *c) {
    if (c->at >= c->n) {
        c->bad = 1;
        return 0;
    }
    return c->w[c->at++];
}

static const uint32_t *span(cursor *c, uint32_t k) {
    const uint32_t *p = c->w + c->at;
    if (k > c->n - c->at) {
        c->bad = 1;
        return c->w;
    }
    c->at += k;
    return p;
}

static int read_section(cursor *c, uint32_t tag, hwgen_section *s, int with_crcs) {
    uint32_t i;
    if (next(c) != tag || c->bad) return -1;
    s->n = next(c);
    if (c->bad || s->n > c->n) return -1;
    s->frames = calloc(s->n ? s->n : 1, sizeof *s->frames);
    if (!s->frames) return -1;
    for (i = 0; i < s->n && !c->bad; i++) {
        hwgen_frame *f = &s->frames[i];
        f->n_payload = next(c);
        f->n_status = next(c);
        f->payload = span(c, f->n_payload);
        f->status = span(c, f->n_status);
        f->crcs = with_crcs ? span(c, f->n_status) : NULL;
    }
    return c->bad ? -1 : 0;
}

int hwgen_image_read(hwgen_image *img, const char *path, char *err, size_t err_len) {
    FILE *f = fopen(path, "rb");
    long size;
    cursor c;
    uint32_t i, j;
    memset(img, 0, sizeof *img);
    if (!f) {
        snprintf(err, err_len, "%s: cannot open it (%s)", path, strerror(errno));
        return -1;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0 || size % 4 || size < 4 * (long)IMAGE_HEADER_WORDS) {
        fclose(f);
        snprintf(err, err_len, "%s: not a load image (its size is not a whole number of words past the header); write one with hwgen build or hwgen image", path);
        return -1;
    }
    img->words = malloc((size_t)size);
    if (!img->words || fread(img->words, 1, (size_t)size, f) != (size_t)size) {
        fclose(f);
        snprintf(err, err_len, "%s: cannot read it", path);
        return -1;
    }
    fclose(f);
    {
        uint8_t *b = (uint8_t *)img->words; /* the file is little-endian whatever the host */
        for (i = 0; i < (uint32_t)size / 4; i++) img->words[i] = get32(b + 4 * i);
    }
    c.w = img->words;
    c.n = (uint32_t)size / 4;
    c.at = 0;
    c.bad = 0;
    if (next(&c) != IMAGE_MAGIC) {
        snprintf(err, err_len, "%s: not a load image (no HWGI magic); write one with hwgen build or hwgen image", path);
        return -1;
    }
    if (next(&c) != IMAGE_VERSION) {
        snprintf(err, err_len, "%s: a load image of another version; use the hwgen-client of the build that wrote it", path);
        return -1;
    }
    img->config_hash = next(&c);
    img->frame_words = next(&c);
    img->inputs = next(&c);
    img->outputs = next(&c);
    next(&c); /* pixel table present: always, in version 1 */
    if (img->inputs > c.n || img->outputs > c.n ||
        read_section(&c, TAG('L', 'O', 'A', 'D'), &img->load, 0) || read_section(&c, TAG('C', 'H', 'C', 'K'), &img->check, 1) ||
        read_section(&c, TAG('I', 'P', 'U', 'T'), &img->input, 0))
        goto corrupt;
    img->input_slots = calloc(img->inputs + 1, sizeof *img->input_slots);
    img->output_slots = calloc(img->outputs + 1, sizeof *img->output_slots);
    if (!img->input_slots || !img->output_slots) goto corrupt;
    for (i = 0; i < img->input.n; i++) img->input_words += img->input.frames[i].n_payload;
    for (i = 0; i < img->inputs; i++) {
        uint32_t w = next(&c), bits = next(&c);
        img->input_slots[i].word = w;
        img->input_slots[i].shift = (uint8_t)bits;
        img->input_slots[i].width = (uint8_t)(bits >> 8);
        if (w >= img->input_words || img->input_slots[i].shift + img->input_slots[i].width > 32) goto corrupt;
    }
    img->pixel_table = span(&c, 256);
    if (read_section(&c, TAG('R', 'U', 'N', ' '), &img->run, 0) || read_section(&c, TAG('R', 'E', 'A', 'D'), &img->read, 0)) goto corrupt;
    for (i = 0; i < img->read.n; i++)
        for (j = 0; j < img->read.frames[i].n_status; j++) img->read_words += img->read.frames[i].status[j] & 0xffffu;
    for (i = 0; i < img->outputs; i++) {
        uint32_t w = next(&c), bits = next(&c);
        img->output_slots[i].word = w;
        img->output_slots[i].shift = (uint8_t)bits;
        img->output_slots[i].width = (uint8_t)(bits >> 8);
        img->output_slots[i].is_signed = (uint8_t)(bits >> 16);
        if (w >= img->read_words || img->output_slots[i].shift + img->output_slots[i].width > 32) goto corrupt;
    }
    if (c.bad || c.at != c.n) goto corrupt;
    return 0;
corrupt:
    snprintf(err, err_len, "%s: the load image is truncated or corrupt; write it again with hwgen", path);
    hwgen_image_free(img);
    return -1;
}

void hwgen_image_free(hwgen_image *img) {
    hwgen_section *s[5];
    int k;
    s[0] = &img->load;
    s[1] = &img->check;
    s[2] = &img->input;
    s[3] = &img->run;
    s[4] = &img->read;
    for (k = 0; k < 5; k++) free(s[k]->frames);
    free(img->input_slots);
    free(img->output_slots);
    free(img->words);
    memset(img, 0, sizeof *img);
}

/* Sends one frame's payload as a COMMAND and checks every status word of the answer; the data words after each
 * status go to `data` (when given, at *at). */
static int command_frame(hwgen_link *l, const hwgen_frame *f, const uint32_t *payload, uint32_t *data, uint32_t *at, const char *what) {
    uint32_t answer[HWGEN_MAX_PAYLOAD_WORDS], n, k, pos = 0;
    if (hwgen_request(l, HWGEN_FRAME_COMMAND, payload, f->n_payload, answer, HWGEN_MAX_PAYLOAD_WORDS, &n) < 0) return -1;
    for (k = 0; k < f->n_status; k++) {
        uint32_t count = f->status[k] & 0xffffu;
        if (pos >= n || answer[pos] != f->status[k])
            return fail(l, "%s: command %u answered 0x%08x where 0x%08x was due (the engine refused it: is the image for this build?)", what, k, pos < n ? answer[pos] : 0, f->status[k]);
        if (pos + 1 + count > n) return fail(l, "%s: the answer ended early", what);
        if (f->crcs && answer[pos + 1] != f->crcs[k]) return fail(l, "verify: memory range %u differs from the image (checksum 0x%08x, the image's 0x%08x): load it again", k, answer[pos + 1], f->crcs[k]);
        if (data) {
            memcpy(data + *at, answer + pos + 1, 4 * (size_t)count);
            *at += count;
        }
        pos += 1 + count;
    }
    return 0;
}

/* The board carries the build the image is for, and takes its frames (IDENTIFY once per link). */
static int same_build(hwgen_link *l, const hwgen_image *img) {
    hwgen_identity id;
    if (!l->max_payload && hwgen_identify(l, &id) < 0) return -1;
    if (l->build_hash != img->config_hash) return fail(l, "the image is for build %08x; the board carries build %08x: write the image for this build (hwgen image)", img->config_hash, l->build_hash);
    if (l->max_payload < img->frame_words) return fail(l, "the image was cut into frames of %u words; the board takes %u: write the image for this build", img->frame_words, l->max_payload);
    return 0;
}

int hwgen_load(hwgen_link *l, const hwgen_image *img) {
    uint32_t i;
    if (same_build(l, img) < 0) return -1;
    for (i = 0; i < img->load.n; i++)
        if (command_frame(l, &img->load.frames[i], img->load.frames[i].payload, NULL, NULL, "load") < 0) return -1;
    return hwgen_verify(l, img);
}

int hwgen_verify(hwgen_link *l, const hwgen_image *img) {
    uint32_t i;
    if (same_build(l, img) < 0) return -1;
    for (i = 0; i < img->check.n; i++)
        if (command_frame(l, &img->check.frames[i], img->check.frames[i].payload, NULL, NULL, "verify") < 0) return -1;
    return 0;
}

int hwgen_run(hwgen_link *l, const hwgen_image *img, const int32_t *input, int32_t *output, uint32_t *cycles) {
    uint32_t *words = malloc(4 * ((size_t)img->input_words + 1)), *data = malloc(4 * ((size_t)img->read_words + 1));
    uint32_t i, at = 0, k, off = 0, run[2];
    int rc = -1;
    if (!words || !data) {
        fail(l, "out of memory");
        goto out;
    }
    if (same_build(l, img) < 0) goto out;
    for (i = 0; i < img->input.n; i++) {
        memcpy(words + at, img->input.frames[i].payload, 4 * (size_t)img->input.frames[i].n_payload);
        at += img->input.frames[i].n_payload;
    }
    for (i = 0; i < img->inputs; i++) {
        const hwgen_slot *s = &img->input_slots[i];
        uint32_t mask = s->width >= 32 ? 0xffffffffu : (1u << s->width) - 1u;
        words[s->word] |= ((uint32_t)input[i] & mask) << s->shift;
    }
    for (i = 0; i < img->input.n; i++) {
        if (command_frame(l, &img->input.frames[i], words + off, NULL, NULL, "input") < 0) goto out;
        off += img->input.frames[i].n_payload;
    }
    k = 0;
    for (i = 0; i < img->run.n; i++)
        if (command_frame(l, &img->run.frames[i], img->run.frames[i].payload, run, &k, "run") < 0) goto out;
    if (cycles) *cycles = k ? run[0] : 0;
    k = 0;
    for (i = 0; i < img->read.n; i++)
        if (command_frame(l, &img->read.frames[i], img->read.frames[i].payload, data, &k, "read") < 0) goto out;
    for (i = 0; i < img->outputs; i++) {
        const hwgen_slot *s = &img->output_slots[i];
        uint32_t v = s->width >= 32 ? data[s->word] : (data[s->word] >> s->shift) & ((1u << s->width) - 1u);
        if (s->is_signed && s->width < 32 && (v >> (s->width - 1)) & 1u) v |= ~0u << s->width;
        output[i] = (int32_t)v;
    }
    rc = 0;
out:
    free(words);
    free(data);
    return rc;
}
