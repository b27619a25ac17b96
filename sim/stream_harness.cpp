// Verilator harness for a word-stream top (eie_top and the other engines): little-endian 32-bit command
// words come in on stdin, response words go out on stdout. It reads whatever stdin has and blocks only when
// the design waits for input, so it serves a whole file at once and an interactive driver alike.
// Usage: <model> [--trace file.fst] [--max-idle-cycles N]
// On exit it prints "cycles N" on stderr.
#include <verilated.h>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <unistd.h>
#include <vector>
#include HWGEN_TOP_HEADER
#if VM_TRACE
#include <verilated_fst_c.h>
#endif

namespace {

class Input {
  public:
    // True when a word is ready; with block, waits for stdin (false only at end of input).
    bool ready(bool block) {
        while (words_.empty()) {
            if (eof_) return false;
            if (!block && !poll()) return false;
            fill();
        }
        return true;
    }
    uint32_t front() const { return words_.front(); }
    void pop() { words_.pop_front(); }
    bool eof() const { return eof_ && words_.empty(); }

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
            if (!partial_.empty()) std::fprintf(stderr, "harness: input ends inside a word (%zu stray bytes)\n", partial_.size());
            eof_ = true;
            return;
        }
        partial_.insert(partial_.end(), buf, buf + n);
        size_t whole = partial_.size() / 4 * 4;
        for (size_t i = 0; i < whole; i += 4) {
            words_.push_back(uint32_t(partial_[i]) | uint32_t(partial_[i + 1]) << 8 | uint32_t(partial_[i + 2]) << 16 |
                             uint32_t(partial_[i + 3]) << 24);
        }
        partial_.erase(partial_.begin(), partial_.begin() + whole);
    }
    std::deque<uint32_t> words_;
    std::vector<unsigned char> partial_;
    bool eof_ = false;
};

class Output {
  public:
    void push(uint32_t w) {
        for (int i = 0; i < 4; i++) buf_.push_back((unsigned char)(w >> (8 * i)));
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
    uint64_t max_idle = 50000000;  // cycles without progress before the design counts as hung
    for (int i = 1; i < argc; i++) {
        if (!std::strcmp(argv[i], "--trace") && i + 1 < argc) trace_path = argv[++i];
        else if (!std::strcmp(argv[i], "--max-idle-cycles") && i + 1 < argc) max_idle = std::strtoull(argv[++i], nullptr, 10);
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
    Input in;
    Output out;
    uint64_t cycle = 0, since_progress = 0;
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

    top->rst = 1;
    top->in_valid = 0;
    top->out_ready = 1;
    for (int i = 0; i < 4; i++) tick();
    top->rst = 0;

    for (;;) {
        top->clk = 0;
        top->eval();
        bool waiting = top->in_ready && !top->out_valid;
        bool have = in.ready(false);
        if (!have && waiting) {
            // Nothing to do until the host speaks: hand over what we have, then wait for it.
            out.flush();
            if (top->idle && in.eof()) break;
            have = in.ready(true);
            if (!have) {
                if (top->idle) break;
                std::fprintf(stderr, "harness: input ended inside a command (cycle %llu)\n", (unsigned long long)cycle);
                return 5;
            }
        }
        top->in_valid = have;
        top->in_data = have ? in.front() : 0;
        top->eval();
        bool in_fire = have && top->in_ready;
        bool out_fire = top->out_valid && top->out_ready;
        uint32_t out_word = top->out_data;
        tick();
        if (in_fire) in.pop();
        if (out_fire) out.push(out_word);
        since_progress = (in_fire || out_fire) ? 0 : since_progress + 1;
        if (since_progress > max_idle) {
            out.flush();
            std::fprintf(stderr, "harness: no progress for %llu cycles at cycle %llu: the design hung\n",
                         (unsigned long long)max_idle, (unsigned long long)cycle);
            return 4;
        }
        if (!have && in.eof() && top->idle && !top->out_valid) break;
    }
    out.flush();
#if VM_TRACE
    if (tfp) tfp->close();
#endif
    top->final();
    std::fprintf(stderr, "cycles %llu\n", (unsigned long long)cycle);
    return 0;
}
