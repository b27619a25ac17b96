/*
 * A register-level model of the AXI DMA in simple mode (Xilinx PG021) in front of hwgen's sim board, for
 * testing hwgen_dma.c (the Zynq bridge) on a PC: the bridge's register reads and writes land here; MM2S moves
 * the bytes at SA from a model of DDR into the board's stdin; S2MM collects the board's stdout and ends a
 * transfer at each reply frame's end, as the AXI top's TLAST does, writing it to DDR at DA. The bridge then
 * serves the link on this program's stdin and stdout.
 *
 *   axi_dma_model BOARD_MODEL [ARGS...]
 */
#define _DEFAULT_SOURCE
#include "hwgen_dma.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DDR_BASE 0x10000000u
#define DDR_BYTES (1u << 20)
#define FRAME_MAGIC 0x4b4c5748u

static uint32_t regs[HWGEN_DMA_REGS_BYTES / 4];
static uint8_t ddr[DDR_BYTES];
static int to_board, from_board;
static uint8_t pending[1 << 20]; /* the board's bytes not yet in a transfer */
static size_t pending_len;
static int s2mm_armed;

#define R(off) regs[(off) / 4]

static uint32_t le32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

static uint8_t *ddr_at(uint64_t addr, uint32_t n) {
    if (addr < DDR_BASE || addr + n > (uint64_t)DDR_BASE + DDR_BYTES) return NULL;
    return ddr + (addr - DDR_BASE);
}

static void reset(void) {
    memset(regs, 0, sizeof regs);
    R(HWGEN_DMA_MM2S_DMASR) = HWGEN_DMASR_HALTED;
    R(HWGEN_DMA_S2MM_DMASR) = HWGEN_DMASR_HALTED;
    s2mm_armed = 0;
}

/* S2MM: while armed, a whole frame from the board (its length from its header) is one transfer. */
static void advance(void) {
    ssize_t k;
    while (pending_len < sizeof pending && (k = read(from_board, pending + pending_len, sizeof pending - pending_len)) > 0) pending_len += (size_t)k;
    while (pending_len >= 4 && le32(pending) != FRAME_MAGIC) memmove(pending, pending + 1, --pending_len);
    if (!s2mm_armed || pending_len < 8) return;
    {
        uint32_t len = 4 * ((le32(pending + 4) >> 16) + 3);
        uint64_t da = (uint64_t)R(HWGEN_DMA_S2MM_DA_MSB) << 32 | R(HWGEN_DMA_S2MM_DA);
        uint8_t *dst;
        if (pending_len < len) return;
        dst = ddr_at(da, len);
        if (len > R(HWGEN_DMA_S2MM_LENGTH) || !dst) {
            R(HWGEN_DMA_S2MM_DMASR) |= dst ? 0x10u : 0x40u; /* DMAIntErr: the buffer is shorter than the packet; DMADecErr */
            R(HWGEN_DMA_S2MM_DMASR) |= HWGEN_DMASR_HALTED;
            s2mm_armed = 0;
            return;
        }
        memcpy(dst, pending, len);
        memmove(pending, pending + len, pending_len - len);
        pending_len -= len;
        R(HWGEN_DMA_S2MM_LENGTH) = len; /* read back: the bytes the transfer carried */
        R(HWGEN_DMA_S2MM_DMASR) |= HWGEN_DMASR_IOC | HWGEN_DMASR_IDLE;
        s2mm_armed = 0;
    }
}

static uint32_t rd(void *ctx, uint32_t off) {
    (void)ctx;
    if (off == HWGEN_DMA_S2MM_DMASR || off == HWGEN_DMA_S2MM_LENGTH) advance();
    return R(off);
}

static void wr(void *ctx, uint32_t off, uint32_t v) {
    (void)ctx;
    switch (off) {
    case HWGEN_DMA_MM2S_DMACR:
    case HWGEN_DMA_S2MM_DMACR:
        if (v & HWGEN_DMACR_RESET) { /* either channel's reset resets both; the bit reads back as 0 when done */
            reset();
            return;
        }
        R(off) = v;
        if (v & HWGEN_DMACR_RS) R(off + 4) = (R(off + 4) & ~HWGEN_DMASR_HALTED) | HWGEN_DMASR_IDLE;
        return;
    case HWGEN_DMA_MM2S_DMASR:
    case HWGEN_DMA_S2MM_DMASR:
        R(off) &= ~(v & HWGEN_DMASR_IOC); /* write 1 to clear */
        return;
    case HWGEN_DMA_MM2S_LENGTH: {
        uint64_t sa = (uint64_t)R(HWGEN_DMA_MM2S_SA_MSB) << 32 | R(HWGEN_DMA_MM2S_SA);
        const uint8_t *src = ddr_at(sa, v);
        size_t done = 0;
        if (R(HWGEN_DMA_MM2S_DMASR) & HWGEN_DMASR_HALTED) return; /* a halted channel ignores it */
        if (!src) {
            R(HWGEN_DMA_MM2S_DMASR) |= 0x40u | HWGEN_DMASR_HALTED;
            return;
        }
        R(HWGEN_DMA_MM2S_DMASR) &= ~HWGEN_DMASR_IDLE;
        while (done < v) {
            ssize_t k = write(to_board, src + done, v - done);
            if (k <= 0) exit(3);
            done += (size_t)k;
            advance(); /* the board may answer before it takes the rest */
        }
        R(off) = v;
        R(HWGEN_DMA_MM2S_DMASR) |= HWGEN_DMASR_IOC | HWGEN_DMASR_IDLE;
        return;
    }
    case HWGEN_DMA_S2MM_LENGTH:
        if (R(HWGEN_DMA_S2MM_DMASR) & HWGEN_DMASR_HALTED) return;
        R(off) = v;
        R(HWGEN_DMA_S2MM_DMASR) &= ~HWGEN_DMASR_IDLE;
        s2mm_armed = 1;
        advance();
        return;
    default:
        R(off) = v;
    }
}

int main(int argc, char **argv) {
    int in[2], out[2];
    hwgen_dma d;
    char err[512];
    if (argc < 2) {
        fprintf(stderr, "usage: axi_dma_model BOARD_MODEL [ARGS...]\n");
        return 2;
    }
    if (pipe(in) || pipe(out)) return 1;
    if (fork() == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[1]);
        close(out[0]);
        execv(argv[1], argv + 1);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    to_board = in[1];
    from_board = out[0];
    fcntl(from_board, F_SETFL, O_NONBLOCK);
    signal(SIGPIPE, SIG_IGN);
    reset();
    R(HWGEN_DMA_MM2S_DMACR) = 0;
    d.rd = rd;
    d.wr = wr;
    d.ctx = NULL;
    d.tx = ddr;
    d.tx_phys = DDR_BASE;
    d.tx_len = DDR_BYTES / 2;
    d.rx = ddr + DDR_BYTES / 2;
    d.rx_phys = DDR_BASE + DDR_BYTES / 2;
    d.rx_len = DDR_BYTES / 2;
    if (hwgen_dma_start(&d, err, sizeof err) < 0 || hwgen_dma_serve(&d, 0, 1, err, sizeof err) < 0) {
        fprintf(stderr, "axi_dma_model: %s\n", err);
        return 1;
    }
    return 0;
}
