// Verilator harness for the tops hwgen simulates: input on stdin, output on stdout, one clock per loop.
//   word stream (the engines, the default): little-endian 32-bit words through in_valid/in_data/in_ready and
//     out_valid/out_data/out_ready. It blocks on stdin only when the top waits for input, so it serves a whole
//     file at once and an interactive driver alike.
//   byte stream (the shell, built with HWGEN_BYTE_STREAM): the bytes a board's link would carry, one per clock
//     at most, through rx_valid/rx_data/rx_ready and tx_valid/tx_data (tx_ready always high). While the top is
//     idle it blocks on stdin; while a frame or a command is in progress it keeps the clock running.
// Usage: <model> [--trace file.fst] [--max-idle-cycles N]
//   byte stream also: [--read-all] [--gap BYTES:CYCLES]... [--wait BYTES]...
//   --read-all  read the whole input before the first clock, so a run does not depend on how the pipe delivers it
//   --gap       after BYTES bytes went in, offer nothing for CYCLES clocks (a link that goes quiet)
//   --wait      after BYTES bytes went in, offer nothing until the top is idle (a host waiting for its replies)
// On exit it prints "cycles N" and "cpu-seconds S" (the process's own CPU time) on stderr.
// Speed: two evaluations per clock (inputs with the falling edge, then the rising edge), stdin read in blocks
// and looked at only when the top can take what it holds; nothing is copied per clock but the word itself.
#include <verilated.h>
#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <sys/resource.h>
#include <sys/select.h>
#include <unistd.h>
#include <utility>
#include <vector>
#include HWGEN_TOP_HEADER
#if VM_TRACE
#include <verilated_fst_c.h>
#endif

namespace {

// Stdin in blocks, handed out in units of `unit` bytes.
class Input {
  public:
    explicit Input(size_t unit) : unit_(unit) {}
    // True when a unit is ready; with block, waits for stdin (false only at end of input).
    bool ready(bool block) {
        while (avail() < unit_) {
            if (eof_) return false;
            if (!block && !poll()) return false;
            fill();
        }
        return true;
    }
    bool has() const { return avail() >= unit_; }
    void read_all() {
        while (!eof_) fill();
    }
    const unsigned char* front() const { return buf_.data() + pos_; }
    void pop() { pos_ += unit_; }
    bool eof() const { return eof_ && !has(); }

  private:
    size_t avail() const { return buf_.size() - pos_; }
    static bool poll() {
        fd_set set;
        FD_ZERO(&set);
        FD_SET(0, &set);
        timeval tv{0, 0};
        return select(1, &set, nullptr, nullptr, &tv) > 0;
    }
    void fill() {
        if (pos_ > 0 && pos_ >= buf_.size() / 2) {
            buf_.erase(buf_.begin(), buf_.begin() + pos_);
            pos_ = 0;
        }
        size_t had = buf_.size();
        buf_.resize(had + (1 << 16));
        ssize_t n = read(0, buf_.data() + had, 1 << 16);
        buf_.resize(had + (n > 0 ? size_t(n) : 0));
        if (n < 0 && errno == EINTR) return;
        if (n <= 0) {
            eof_ = true;
            if (avail() % unit_) std::fprintf(stderr, "harness: input ends inside a word (%zu stray bytes)\n", avail() % unit_);
        }
    }
    const size_t unit_;
    std::vector<unsigned char> buf_;
    size_t pos_ = 0;
    bool eof_ = false;
};

class Output {
  public:
    void push(const unsigned char* p, size_t n) {
        buf_.insert(buf_.end(), p, p + n);
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

// What a link's offer() asks of the loop.
enum Offer { kRun, kStop, kFail };

#ifndef HWGEN_BYTE_STREAM
// The word stream of an engine top.
class Link {
  public:
    static constexpr size_t kUnit = 4;
    bool arg(int, char**, int&) { return false; }
    void reset(HWGEN_TOP& top) {
        top.in_valid = 0;
        top.out_ready = 1;
    }
    void begin(Input&) {}
    // Sets this clock's input from the top's state after the last rising edge.
    Offer offer(HWGEN_TOP& top, Input& in, Output& out, uint64_t cycle) {
        // Stdin is looked at only when the top can take a word: a computing top costs no system call.
        have_ = in.has() || (top.in_ready && in.ready(false));
        if (!have_ && top.in_ready && !top.out_valid) {
            // Nothing to do until the host speaks: hand over what we have, then wait for it.
            out.flush();
            if (top.idle && in.eof()) return kStop;
            have_ = in.ready(true);
            if (!have_) {
                if (top.idle) return kStop;
                std::fprintf(stderr, "harness: input ended inside a command (cycle %llu)\n", (unsigned long long)cycle);
                return kFail;
            }
        }
        top.in_valid = have_;
        if (have_) {
            const unsigned char* p = in.front();
            top.in_data = uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
        } else {
            top.in_data = 0;
        }
        return kRun;
    }
    // Samples the handshakes after the inputs settled, before the rising edge.
    void sample(HWGEN_TOP& top) {
        in_fire_ = have_ && top.in_ready;
        out_fire_ = top.out_valid && top.out_ready;
        word_ = top.out_data;
    }
    // After the rising edge: moves what crossed; true when something did (progress).
    bool retire(HWGEN_TOP&, Input& in, Output& out, uint64_t) {
        if (in_fire_) in.pop();
        if (out_fire_) {
            const unsigned char b[4] = {(unsigned char)word_, (unsigned char)(word_ >> 8), (unsigned char)(word_ >> 16), (unsigned char)(word_ >> 24)};
            out.push(b, 4);
        }
        return in_fire_ || out_fire_;
    }
    bool done(HWGEN_TOP& top, Input& in) const { return !have_ && in.eof() && top.idle && !top.out_valid; }

  private:
    bool have_ = false, in_fire_ = false, out_fire_ = false;
    uint32_t word_ = 0;
};
#else
// The byte stream of the shell, with quiet gaps and waits for replies.
class Link {
  public:
    static constexpr size_t kUnit = 1;
    bool arg(int argc, char** argv, int& i) {
        if (!std::strcmp(argv[i], "--read-all")) {
            read_all_ = true;
        } else if (!std::strcmp(argv[i], "--gap") && i + 1 < argc) {
            char* end = nullptr;
            uint64_t at = std::strtoull(argv[++i], &end, 10);
            if (!end || *end != ':') {
                std::fprintf(stderr, "harness: --gap takes BYTES:CYCLES, not %s\n", argv[i]);
                std::exit(2);
            }
            gaps_.emplace_back(at, std::strtoull(end + 1, nullptr, 10));
        } else if (!std::strcmp(argv[i], "--wait") && i + 1 < argc) {
            waits_.push_back(std::strtoull(argv[++i], nullptr, 10));
        } else {
            return false;
        }
        return true;
    }
    void reset(HWGEN_TOP& top) {
        top.rx_valid = 0;
        top.tx_ready = 1;
    }
    void begin(Input& in) {
        std::sort(gaps_.begin(), gaps_.end());
        std::sort(waits_.begin(), waits_.end());
        if (read_all_) in.read_all();
        start_gaps();
    }
    Offer offer(HWGEN_TOP& top, Input& in, Output& out, uint64_t) {
        bool quiet_idle = top.idle && !top.tx_valid;
        if (hold_ && quiet_ == 0 && quiet_idle) hold_ = false;
        bool open = quiet_ == 0 && !hold_;
        // A select() per clock would cost more than the clock itself: look at the pipe every 64 clocks
        // while the top is busy (a byte waits at most that long; a board's UART is slower still).
        have_ = open && (in.has() || ((++polls_ & 63) == 0 && in.ready(false)));
        if (!have_ && open && quiet_idle) {
            // Nothing to do until the host speaks: hand over what we have, then wait for it.
            out.flush();
            if (in.eof()) return kStop;
            have_ = in.ready(true);
            if (!have_) return kStop;
        }
        top.rx_valid = have_;
        top.rx_data = have_ ? *in.front() : 0;
        return kRun;
    }
    void sample(HWGEN_TOP& top) {
        in_fire_ = have_ && top.rx_ready;
        out_fire_ = top.tx_valid;
        byte_ = top.tx_data;
    }
    bool retire(HWGEN_TOP& top, Input& in, Output& out, uint64_t cycle) {
        if (in_fire_) {
            in.pop();
            delivered_++;
            start_gaps();
        } else if (quiet_) {
            quiet_--;
        }
        if (out_fire_) out.push(&byte_, 1);
        // Replies leave as a board's would, while later frames are still coming in: held until the top went
        // idle, the first ACK of a window of frames would wait for the last frame and time out at the host.
        if ((cycle & 255) == 0) out.flush();
        if (hold_ && in.eof() && top.idle && !top.tx_valid) hold_ = false;
        return in_fire_ || out_fire_ || quiet_;
    }
    bool done(HWGEN_TOP&, Input&) const { return false; }

  private:
    void start_gaps() {
        while (next_gap_ < gaps_.size() && gaps_[next_gap_].first == delivered_) quiet_ += gaps_[next_gap_++].second;
        while (next_wait_ < waits_.size() && waits_[next_wait_] == delivered_) hold_ = true, next_wait_++;
    }
    bool read_all_ = false, hold_ = false, have_ = false, in_fire_ = false, out_fire_ = false;
    std::vector<std::pair<uint64_t, uint64_t>> gaps_;  // (bytes delivered, quiet cycles)
    std::vector<uint64_t> waits_;                       // bytes delivered
    size_t next_gap_ = 0, next_wait_ = 0;
    uint64_t delivered_ = 0, quiet_ = 0;
    unsigned polls_ = 0;
    unsigned char byte_ = 0;
};
#endif

double cpu_seconds() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + 1e-6 * double(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

}  // namespace

int main(int argc, char** argv) {
    const std::unique_ptr<VerilatedContext> ctx{new VerilatedContext};
    ctx->commandArgs(argc, argv);  // +verilator+seed+N, +verilator+rand+reset+2: the random start of every register
    Link link;
    std::string trace_path;
    uint64_t max_idle = 50000000;  // cycles without progress before the design counts as hung
    for (int i = 1; i < argc; i++) {
        if (!std::strcmp(argv[i], "--trace") && i + 1 < argc) trace_path = argv[++i];
        else if (!std::strcmp(argv[i], "--max-idle-cycles") && i + 1 < argc) max_idle = std::strtoull(argv[++i], nullptr, 10);
        else link.arg(argc, argv, i);
    }
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
    Input in{Link::kUnit};
    Output out;
    uint64_t cycle = 0, since_progress = 0;
    // The falling edge, evaluated with this clock's inputs, then the rising edge: the design has no negedge logic.
    auto fall = [&]() {
        top->clk = 0;
        top->eval();
#if VM_TRACE
        if (tfp) tfp->dump(2 * cycle);
#endif
    };
    auto rise = [&]() {
        top->clk = 1;
        top->eval();
#if VM_TRACE
        if (tfp) tfp->dump(2 * cycle + 1);
#endif
        cycle++;
    };

    top->rst = 1;
    link.reset(*top);
    for (int i = 0; i < 4; i++) fall(), rise();
    top->rst = 0;
    top->clk = 0;
    top->eval();  // settle the outputs out of reset before the first offer reads them
    link.begin(in);

    int status = 0;
    for (;;) {
        Offer o = link.offer(*top, in, out, cycle);
        if (o == kStop) break;
        if (o == kFail) {
            status = 5;
            break;
        }
        fall();
        link.sample(*top);
        rise();
        since_progress = link.retire(*top, in, out, cycle) ? 0 : since_progress + 1;
        if (since_progress > max_idle) {
            out.flush();
            std::fprintf(stderr, "harness: no progress for %llu cycles at cycle %llu: the design hung\n",
                         (unsigned long long)max_idle, (unsigned long long)cycle);
            return 4;
        }
        if (link.done(*top, in)) break;
    }
    out.flush();
    if (status) return status;
#if VM_TRACE
    if (tfp) tfp->close();
#endif
    top->final();
    std::fprintf(stderr, "cycles %llu\ncpu-seconds %.6f\n", (unsigned long long)cycle, cpu_seconds());
    return 0;
}
