/*
 * The AXI DMA in simple mode (Xilinx PG021, no scatter-gather), as the Zynq DMA build's block design has it:
 * MM2S streams a buffer from DDR into the shell, S2MM writes the shell's replies to DDR (each reply frame ends
 * with TLAST, which ends a transfer). hwgen_bridge.c moves the link's bytes through it; the registers are
 * reached through `rd`/`wr`, so the same code runs on the board (mapped registers) and against a model.
 */
#ifndef HWGEN_DMA_H
#define HWGEN_DMA_H

#include <stddef.h>
#include <stdint.h>

/* Register offsets and bits (PG021, "Register Space", simple mode). */
#define HWGEN_DMA_MM2S_DMACR 0x00u
#define HWGEN_DMA_MM2S_DMASR 0x04u
#define HWGEN_DMA_MM2S_SA 0x18u
#define HWGEN_DMA_MM2S_SA_MSB 0x1cu
#define HWGEN_DMA_MM2S_LENGTH 0x28u
#define HWGEN_DMA_S2MM_DMACR 0x30u
#define HWGEN_DMA_S2MM_DMASR 0x34u
#define HWGEN_DMA_S2MM_DA 0x48u
#define HWGEN_DMA_S2MM_DA_MSB 0x4cu
#define HWGEN_DMA_S2MM_LENGTH 0x58u
#define HWGEN_DMA_REGS_BYTES 0x10000u

#define HWGEN_DMACR_RS 0x1u    /* run */
#define HWGEN_DMACR_RESET 0x4u /* soft reset of both channels */
#define HWGEN_DMASR_HALTED 0x1u
#define HWGEN_DMASR_IDLE 0x2u
#define HWGEN_DMASR_ERRORS 0x70u /* DMAIntErr, DMASlvErr, DMADecErr */
#define HWGEN_DMASR_IOC 0x1000u  /* transfer complete; write 1 to clear */

typedef struct {
    uint32_t (*rd)(void *ctx, uint32_t off);
    void (*wr)(void *ctx, uint32_t off, uint32_t v);
    void *ctx;
    /* The DMA buffers: the processor's view and the DMA's (physical) address of each. */
    uint8_t *tx, *rx;
    uint64_t tx_phys, rx_phys;
    uint32_t tx_len, rx_len;
} hwgen_dma;

/* Serves the link on (rfd, wfd) until the peer closes it or the DMA fails: the bytes a client sends go to the
 * shell through MM2S, the shell's replies come back through S2MM. 0 when the peer closed, -1 on a DMA error
 * (the reason in err). */
int hwgen_dma_serve(hwgen_dma *d, int rfd, int wfd, char *err, size_t err_len);

/* Resets both channels and starts them; -1 (err) when the DMA does not come out of reset or is absent. */
int hwgen_dma_start(hwgen_dma *d, char *err, size_t err_len);

#endif /* HWGEN_DMA_H */
