// Verilator harness for a byte-stream top (the shell, hwgen_shell): the bytes a board's link would carry come
// in on stdin, one per clock at most (rx_data/rx_valid/rx_ready), and the bytes the top sends go out on stdout
// (tx_data/tx_valid, tx_ready always high). While the top is idle it blocks on stdin, so an interactive driver
// can speak to it; while a frame or a command is in progress it keeps the clock running.
// Usage: <model> [--read-all] [--gap BYTES:CYCLES]... [--wait BYTES]... [--trace file.fst] [--max-idle-cycles N]
//   --read-all  read the whole input before the first clock, so a run does not depend on how the pipe delivers it
//   --gap       after BYTES bytes went in, offer nothing for CYCLES clocks (a link that goes quiet)
//   --wait      after BYTES bytes went in, offer nothing until the top is idle (a host waiting for its replies)
// On exit it prints "cycles N" on stderr.
#include <verilated.h>
#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <sys/select.h>
#include <unistd.h>
#include <utility>
#include <vector>
#include HWGEN_TOP_HEADER
#if VM_TRACE
#include <verilated_fst_c.h>
#endif

namespace {

class Input {
  public:
    // True when a byte is ready; with block, waits for stdin (false only at end of input).
    bool ready(bool block) {
        while (bytes_.empty()) {
            if (eof_) return false;
            // A select() per clock would cost more than the clock itself: look at the pipe every 64 clocks
            // while the top is busy (a byte waits at most that long; a board's UART is slower still).
            if (!block && (++polls_ & 63) != 0) return false;
            if (!block && !poll()) return false;
            fill();
        }
        return true;
    }
    void read_all() {
        while (!eof_) fill();
    }
    unsigned char front() const { return bytes_.front(); }
    void pop() { bytes_.pop_front(); }
    bool eof() const { return eof_ && bytes_.empty(); }

  private:
    bool poll() {
        fd_set set;
        FD_ZERO(&set);
        FD_SET(0, &set);
        timeval tv{0, 0};
        return select(1, &set, nullptr, nullptr, &tv) > 0;
    }
    void fill() {
        unsigned char buf[1 << 16];
        ssize_t n = read(0, buf, sizeof buf);
        if (n < 0 && errno == EINTR) return;
        if (n <= 0) {
            eof_ = true;
            return;
        }
        bytes_.insert(bytes_.end(), buf, buf + n);
    }
    std::deque<unsigned char> bytes_;
    bool eof_ = false;
    unsigned polls_ = 0;
};

class Output {
  public:
    void push(unsigned char b) {
        buf_.push_back(b);
        if (buf_.size() >= (1 << 16)) flush();
    }
    void flush() {
        size_t off = 0;
        while (off < buf_.size()) {
            ssize_t n = write(1, buf_.data() + off, buf_.size() - off);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) std::exit(3);  // the reader went away
            off += size_t(n);
        }
        buf_.clear();
    }

  private:
    std::vector<unsigned char> buf_;
};

}  // namespace

int main(int argc, char** argv) {
    const std::unique_ptr<VerilatedContext> ctx{new VerilatedContext};
    ctx->commandArgs(argc, argv);
    std::string trace_path;
    uint64_t max_idle = 50000000;  // cycles without a byte in or out (and no gap) before the design counts as hung
    bool read_all = false;
    std::vector<std::pair<uint64_t, uint64_t>> gaps;  // (bytes delivered, quiet cycles)
    std::vector<uint64_t> waits;                       // bytes delivered
    for (int i = 1; i < argc; i++) {
        if (!std::strcmp(argv[i], "--trace") && i + 1 < argc) trace_path = argv[++i];
        else if (!std::strcmp(argv[i], "--max-idle-cycles") && i + 1 < argc) max_idle = std::strtoull(argv[++i], nullptr, 10);
        else if (!std::strcmp(argv[i], "--read-all")) read_all = true;
        else if (!std::strcmp(argv[i], "--gap") && i + 1 < argc) {
            char* end = nullptr;
            uint64_t at = std::strtoull(argv[++i], &end, 10);
            if (!end || *end != ':') {
                std::fprintf(stderr, "harness: --gap takes BYTES:CYCLES, not %s\n", argv[i]);
                return 2;
            }
            gaps.emplace_back(at, std::strtoull(end + 1, nullptr, 10));
        } else if (!std::strcmp(argv[i], "--wait") && i + 1 < argc) {
            waits.push_back(std::strtoull(argv[++i], nullptr, 10));
        }
    }
    std::sort(gaps.begin(), gaps.end());
    std::sort(waits.begin(), waits.end());
    const std::unique_ptr<HWGEN_TOP> top{new HWGEN_TOP{ctx.get()}};
#if VM_TRACE
    std::unique_ptr<VerilatedFstC> tfp;
    if (!trace_path.empty()) {
        ctx->traceEverOn(true);
        tfp.reset(new VerilatedFstC);
        top->trace(tfp.get(), 99);
        tfp->open(trace_path.c_str());
    }
#else
    if (!trace_path.empty()) {
        std::fprintf(stderr, "harness: this model was built without tracing\n");
        return 2;
    }
#endif
    Input in;
    if (read_all) in.read_all();
    Output out;
    uint64_t cycle = 0, since_progress = 0, delivered = 0, quiet = 0;
    size_t next_gap = 0, next_wait = 0;
    bool hold = false;
    auto tick = [&]() {
        top->clk = 0;
        top->eval();
#if VM_TRACE
        if (tfp) tfp->dump(2 * cycle);
#endif
        top->clk = 1;
        top->eval();
#if VM_TRACE
        if (tfp) tfp->dump(2 * cycle + 1);
#endif
        cycle++;
    };
    auto start_gaps = [&]() {
        while (next_gap < gaps.size() && gaps[next_gap].first == delivered) quiet += gaps[next_gap++].second;
        while (next_wait < waits.size() && waits[next_wait] == delivered) hold = true, next_wait++;
    };

    top->rst = 1;
    top->rx_valid = 0;
    top->tx_ready = 1;
    for (int i = 0; i < 4; i++) tick();
    top->rst = 0;
    start_gaps();

    for (;;) {
        top->clk = 0;
        top->eval();
        if (hold && quiet == 0 && top->idle && !top->tx_valid) hold = false;
        bool have = quiet == 0 && !hold && in.ready(false);
        if (!have && quiet == 0 && !hold && top->idle && !top->tx_valid) {
            // Nothing to do until the host speaks: hand over what we have, then wait for it.
            out.flush();
            if (in.eof()) break;
            have = in.ready(true);
            if (!have) break;
        }
        top->rx_valid = have;
        top->rx_data = have ? in.front() : 0;
        top->eval();
        bool in_fire = have && top->rx_ready;
        bool out_fire = top->tx_valid;
        unsigned char out_byte = top->tx_data;
        tick();
        if (in_fire) {
            in.pop();
            delivered++;
            start_gaps();
        } else if (quiet) {
            quiet--;
        }
        if (out_fire) out.push(out_byte);
        // Replies leave as a board's would, while later frames are still coming in: held until the top went
        // idle, the first ACK of a window of frames would wait for the last frame and time out at the host.
        if ((cycle & 255) == 0) out.flush();
        since_progress = (in_fire || out_fire || quiet) ? 0 : since_progress + 1;
        if (hold && in.eof() && top->idle && !top->tx_valid) hold = false;
        if (since_progress > max_idle) {
            out.flush();
            std::fprintf(stderr, "harness: no progress for %llu cycles at cycle %llu: the design hung\n",
                         (unsigned long long)max_idle, (unsigned long long)cycle);
            return 4;
        }
    }
    out.flush();
#if VM_TRACE
    if (tfp) tfp->close();
#endif
    top->final();
    std::fprintf(stderr, "cycles %llu\n", (unsigned long long)cycle);
    return 0;
}
