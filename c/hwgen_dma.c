/* The link through an AXI DMA in simple mode (hwgen_dma.h). */
#define _DEFAULT_SOURCE
#include "hwgen_dma.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* How long a channel may take to come out of reset or to finish a transfer the shell is taking. */
#define DMA_TIMEOUT_MS 2000

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int dma_error(char *err, size_t n, const char *what, uint32_t sr) {
    snprintf(err, n, "the AXI DMA %s (status 0x%08x%s); check the bitstream and the register address", what, sr,
             sr & 0x10u ? ": internal error" : sr & 0x20u ? ": slave error (a buffer address the DMA cannot reach?)" : sr & 0x40u ? ": decode error (a buffer address outside DDR?)" : "");
    return -1;
}

int hwgen_dma_start(hwgen_dma *d, char *err, size_t err_len) {
    long long until = now_ms() + DMA_TIMEOUT_MS;
    d->wr(d->ctx, HWGEN_DMA_MM2S_DMACR, HWGEN_DMACR_RESET);
    while (d->rd(d->ctx, HWGEN_DMA_MM2S_DMACR) & HWGEN_DMACR_RESET)
        if (now_ms() > until) return dma_error(err, err_len, "does not come out of reset", d->rd(d->ctx, HWGEN_DMA_MM2S_DMASR));
    d->wr(d->ctx, HWGEN_DMA_MM2S_DMACR, HWGEN_DMACR_RS);
    d->wr(d->ctx, HWGEN_DMA_S2MM_DMACR, HWGEN_DMACR_RS);
    if (d->rd(d->ctx, HWGEN_DMA_MM2S_DMASR) & HWGEN_DMASR_HALTED || d->rd(d->ctx, HWGEN_DMA_S2MM_DMASR) & HWGEN_DMASR_HALTED)
        return dma_error(err, err_len, "stays halted after it was started", d->rd(d->ctx, HWGEN_DMA_MM2S_DMASR));
    return 0;
}

/* Gives S2MM the receive buffer: the transfer ends at the shell's next TLAST (a reply frame's end). */
static void arm_rx(hwgen_dma *d) {
    d->wr(d->ctx, HWGEN_DMA_S2MM_DA, (uint32_t)d->rx_phys);
    d->wr(d->ctx, HWGEN_DMA_S2MM_DA_MSB, (uint32_t)(d->rx_phys >> 32));
    d->wr(d->ctx, HWGEN_DMA_S2MM_LENGTH, d->rx_len);
}

/* A finished S2MM transfer goes to the peer and the buffer is armed again; 1 when one was, 0 not yet, -1 error. */
static int service_rx(hwgen_dma *d, int wfd, char *err, size_t err_len) {
    uint32_t sr = d->rd(d->ctx, HWGEN_DMA_S2MM_DMASR), got, done = 0;
    if (sr & HWGEN_DMASR_ERRORS) return dma_error(err, err_len, "failed a transfer to DDR", sr);
    if (!(sr & HWGEN_DMASR_IOC)) return 0;
    got = d->rd(d->ctx, HWGEN_DMA_S2MM_LENGTH);
    d->wr(d->ctx, HWGEN_DMA_S2MM_DMASR, HWGEN_DMASR_IOC);
    arm_rx(d);
    while (done < got) {
        ssize_t k = write(wfd, d->rx + done, got - done);
        if (k < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (k <= 0) return 0; /* the peer went away; its read side says so */
        done += (uint32_t)k;
    }
    return 1;
}

/* Sends `n` bytes of the transmit buffer to the shell, receiving its replies meanwhile (the shell may need to
 * send before it takes more). */
static int send_tx(hwgen_dma *d, uint32_t n, int wfd, char *err, size_t err_len) {
    long long until = now_ms() + DMA_TIMEOUT_MS;
    uint32_t sr;
    d->wr(d->ctx, HWGEN_DMA_MM2S_SA, (uint32_t)d->tx_phys);
    d->wr(d->ctx, HWGEN_DMA_MM2S_SA_MSB, (uint32_t)(d->tx_phys >> 32));
    d->wr(d->ctx, HWGEN_DMA_MM2S_LENGTH, n);
    while (!((sr = d->rd(d->ctx, HWGEN_DMA_MM2S_DMASR)) & HWGEN_DMASR_IOC)) {
        if (sr & HWGEN_DMASR_ERRORS) return dma_error(err, err_len, "failed a transfer from DDR", sr);
        if (service_rx(d, wfd, err, err_len) < 0) return -1;
        if (now_ms() > until) return dma_error(err, err_len, "did not finish sending to the shell in time (is the bitstream loaded and the fabric clock running?)", sr);
    }
    d->wr(d->ctx, HWGEN_DMA_MM2S_DMASR, HWGEN_DMASR_IOC);
    return 0;
}

int hwgen_dma_serve(hwgen_dma *d, int rfd, int wfd, char *err, size_t err_len) {
    arm_rx(d);
    for (;;) {
        struct pollfd p;
        int r;
        p.fd = rfd;
        p.events = POLLIN;
        r = poll(&p, 1, 1); /* replies are polled for between the peer's bytes */
        if (r < 0 && errno != EINTR) {
            snprintf(err, err_len, "poll: %s", strerror(errno));
            return -1;
        }
        if (r > 0) {
            ssize_t k = read(rfd, d->tx, d->tx_len);
            if (k == 0 || (k < 0 && errno != EINTR && errno != EAGAIN)) return 0;
            if (k > 0 && send_tx(d, (uint32_t)k, wfd, err, err_len) < 0) return -1;
        }
        while ((r = service_rx(d, wfd, err, err_len)) > 0) {
        }
        if (r < 0) return -1;
    }
}
