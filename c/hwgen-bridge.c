/*
 * hwgen-bridge: runs on the Zynq's ARM under Linux and serves the link of the AXI DMA build on a TCP port (or
 * on stdin/stdout), so `hwgen info|load|run --device tcp:BOARD:7700` drives the board from a PC and
 * hwgen-client (or Node on the board) drives it locally.
 *
 *   hwgen-bridge [-p PORT | -s] [-a ADDR | -H hwgen.hwh] [-r /dev/mem | -r /dev/uioN] [-u /dev/udmabufN]
 *
 * -a is the AXI DMA's register address (the block design's Address Editor; -H reads it from the .hwh that
 * the build wrote next to the bitstream); -r how to reach the registers (/dev/mem at -a, or a UIO device
 * mapped from 0); -u the DMA buffer (the u-dma-buf module: modprobe u-dma-buf udmabuf0=1048576). Needs root
 * for /dev/mem.
 */
#define _DEFAULT_SOURCE
#include "hwgen_dma.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#define DEFAULT_PORT 7700
#define DEFAULT_DMA_ADDR 0x40400000u /* where Vivado puts the first AXI DMA on a Zynq-7000's GP0 */

static uint32_t mmio_rd(void *ctx, uint32_t off) { return *(volatile uint32_t *)((uint8_t *)ctx + off); }
static void mmio_wr(void *ctx, uint32_t off, uint32_t v) { *(volatile uint32_t *)((uint8_t *)ctx + off) = v; }

static void die(const char *fmt, const char *arg) {
    fprintf(stderr, "hwgen-bridge: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    exit(1);
}

/* The AXI DMA's base address from a Vivado hardware handoff: the MEMRANGE whose INSTANCE is axi_dma. */
static uint64_t hwh_dma_addr(const char *path) {
    static char text[1 << 22];
    FILE *f = fopen(path, "rb");
    size_t n;
    char *at;
    if (!f) die("%s: cannot open it", path);
    n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    for (at = text; (at = strstr(at, "<MEMRANGE")) != NULL; at++) {
        char *end = strchr(at, '>'), *base;
        if (!end) break;
        *end = 0;
        if (strstr(at, "INSTANCE=\"axi_dma\"") && (base = strstr(at, "BASEVALUE=\""))) return strtoull(base + 11, NULL, 16);
        *end = '>';
    }
    die("%s: no MEMRANGE of the instance axi_dma; is it the .hwh of an hwgen zynq build?", path);
    return 0;
}

static uint64_t sysfs_number(const char *dev, const char *field, int base) {
    char path[256], text[64];
    const char *name = strrchr(dev, '/') ? strrchr(dev, '/') + 1 : dev;
    FILE *f;
    snprintf(path, sizeof path, "/sys/class/u-dma-buf/%s/%s", name, field);
    f = fopen(path, "r");
    if (!f || !fgets(text, sizeof text, f)) die("%s: cannot read it; is the u-dma-buf module loaded (modprobe u-dma-buf udmabuf0=1048576)?", path);
    fclose(f);
    return strtoull(text, NULL, base);
}

int main(int argc, char **argv) {
    int port = DEFAULT_PORT, stdio_mode = 0, a, fd, lfd, one = 1;
    uint64_t addr = DEFAULT_DMA_ADDR;
    const char *regs_dev = "/dev/mem", *buf_dev = "/dev/udmabuf0";
    hwgen_dma d;
    uint8_t *buf;
    uint64_t phys, size;
    void *regs;
    char err[512];
    struct sockaddr_in sa;
    for (a = 1; a < argc; a++) {
        if (!strcmp(argv[a], "-s")) stdio_mode = 1;
        else if (a + 1 < argc && !strcmp(argv[a], "-p")) {
            port = atoi(argv[++a]);
            if (port < 1 || port > 65535) die("-p %s: give a port from 1 to 65535", argv[a]);
        }
        else if (a + 1 < argc && !strcmp(argv[a], "-a")) addr = strtoull(argv[++a], NULL, 0);
        else if (a + 1 < argc && !strcmp(argv[a], "-H")) addr = hwh_dma_addr(argv[++a]);
        else if (a + 1 < argc && !strcmp(argv[a], "-r")) regs_dev = argv[++a];
        else if (a + 1 < argc && !strcmp(argv[a], "-u")) buf_dev = argv[++a];
        else {
            fprintf(stderr, "usage: hwgen-bridge [-p PORT | -s] [-a ADDR | -H hwgen.hwh] [-r /dev/mem | -r /dev/uioN] [-u /dev/udmabufN]\n");
            return 2;
        }
    }
    fd = open(regs_dev, O_RDWR | O_SYNC);
    if (fd < 0) die("%s: cannot open it (root is needed for /dev/mem)", regs_dev);
    regs = mmap(NULL, HWGEN_DMA_REGS_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, strncmp(regs_dev, "/dev/uio", 8) ? (off_t)addr : 0);
    if (regs == MAP_FAILED) die("%s: cannot map the DMA's registers", regs_dev);
    phys = sysfs_number(buf_dev, "phys_addr", 16);
    size = sysfs_number(buf_dev, "size", 10);
    fd = open(buf_dev, O_RDWR | O_SYNC); /* O_SYNC: an uncached mapping, so the DMA and the processor agree */
    if (fd < 0) die("%s: cannot open the DMA buffer", buf_dev);
    buf = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (buf == MAP_FAILED) die("%s: cannot map the DMA buffer", buf_dev);
    d.rd = mmio_rd;
    d.wr = mmio_wr;
    d.ctx = regs;
    d.tx = buf;
    d.tx_phys = phys;
    d.tx_len = (uint32_t)(size / 2);
    d.rx = buf + size / 2;
    d.rx_phys = phys + size / 2;
    d.rx_len = (uint32_t)(size / 2);
    if (hwgen_dma_start(&d, err, sizeof err) < 0) die("%s", err);
    signal(SIGPIPE, SIG_IGN);
    if (stdio_mode) {
        if (hwgen_dma_serve(&d, 0, 1, err, sizeof err) < 0) die("%s", err);
        return 0;
    }
    lfd = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_ANY);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, 1) < 0) die("cannot listen on the port (%s); is another program on it? choose another with -p", strerror(errno));
    fprintf(stderr, "hwgen-bridge: serving the link on port %d (one client at a time)\n", port);
    for (;;) {
        int c = accept(lfd, NULL, NULL);
        if (c < 0) continue;
        setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (hwgen_dma_serve(&d, c, c, err, sizeof err) < 0) die("%s", err);
        close(c);
    }
}
