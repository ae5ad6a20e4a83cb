/* pto/host/check.hpp -- what the host PTO-ISA layer checks that the official CPU simulation
 * does not: pipe synchronisation (set_flag/wait_flag/pipe_barrier), buffers clobbered through
 * overlapping TASSIGNs while live, the UB/L1/L0 budgets and address alignment.  Each violation
 * throws pto::cpu_sim::CheckError naming the kernel, the instruction, its source line and the
 * rule.  Also the per-thread kernel cycle counters (pto::cpu_sim::*_cycles): the plain sum of
 * the instructions' costs, and the A2/A3 pipe clocks driven by the instructions and by
 * set_flag/wait_flag/pipe_barrier as the hardware orders pipes (read_pipe_cycles; see
 * docs/tile-library.md, "Pipe timing"). */
#ifndef PTO_HOST_CHECK_HPP
#define PTO_HOST_CHECK_HPP

#include <array>
#include <cstdio>
#include <deque>
#include <map>
#include <source_location>
#include <stdexcept>
#include <string>
#include <vector>

#include "types.hpp"

/* CCE pipes and events (A2/A3 names) */
enum pipe_t { PIPE_S = 0, PIPE_V, PIPE_M, PIPE_MTE1, PIPE_MTE2, PIPE_MTE3, PIPE_FIX, PIPE_ALL };
enum event_t { EVENT_ID0 = 0, EVENT_ID1, EVENT_ID2, EVENT_ID3, EVENT_ID4, EVENT_ID5, EVENT_ID6, EVENT_ID7 };

namespace pto {
namespace cpu_sim {

struct CheckError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

} // namespace cpu_sim

namespace detail {

using Loc = std::source_location;
constexpr int NPIPE = PIPE_ALL;
inline const char *pipe_name(int p)
{
    static const char *const n[] = {"PIPE_S", "PIPE_V", "PIPE_M", "PIPE_MTE1", "PIPE_MTE2",
                                    "PIPE_MTE3", "PIPE_FIX", "PIPE_ALL"};
    return p >= 0 && p <= PIPE_ALL ? n[p] : "PIPE_?";
}

/* memory levels: capacity and the part kernels may use (A2/A3) */
enum Level { UB, L1, L0A, L0B, L0C, NLEVEL };
struct LevelInfo {
    const char *name;
    uint32_t size, budget;
    const char *why;
};
inline const LevelInfo &level_info(int l)
{
    static const LevelInfo info[NLEVEL] = {
        {"UB", 192u << 10, 184u << 10, "192 KB; the last 8 KB are kept free for instruction scratch"},
        {"L1", 512u << 10, 512u << 10, "512 KB"},
        {"L0A", 64u << 10, 64u << 10, "64 KB"},
        {"L0B", 64u << 10, 64u << 10, "64 KB"},
        {"L0C", 128u << 10, 128u << 10, "128 KB"},
    };
    return info[l];
}
template <TileType L> constexpr int level_of()
{
    static_assert(L != TileType::Bias, "the host PTO-ISA layer has no Bias tiles");
    return L == TileType::Vec ? UB : L == TileType::Mat ? L1 : L == TileType::Left ? L0A
         : L == TileType::Right ? L0B : L0C;
}

constexpr uint32_t BLOCK = 32; /* bytes: TASSIGN alignment and tracking granularity */

struct Rec { /* one issued instruction */
    const char *instr;
    Loc loc;
    int pipe;
    uint32_t stamp;
};
struct Bind { /* one TASSIGN */
    int level;
    uint32_t addr, bytes;
    Loc loc;
};
struct Block { /* shadow state of 32 bytes of on-chip memory */
    int32_t wbind = -1, wrec = -1; /* binding written through, instruction that wrote */
    std::array<int32_t, NPIPE> rrec; /* last reader per pipe */
    Block() { rrec.fill(-1); }
};
struct Ref { /* an operand of an instruction: the bytes of a tile */
    int level, bind;
    uint32_t addr, bytes;
};

struct Core {
    std::vector<uint64_t> mem[NLEVEL];
    std::vector<Block> blk[NLEVEL];
    std::vector<Rec> recs;
    std::vector<Bind> binds;
    std::array<uint32_t, NPIPE> clock{};
    std::array<std::array<uint32_t, NPIPE>, NPIPE> seen{};
    struct Flag { /* one set_flag not yet waited for */
        std::array<uint32_t, NPIPE> seen; /* what the source pipe had seen (the checks) */
        uint64_t time;                    /* when the source pipe reached it (the clocks) */
    };
    std::map<int, std::deque<Flag>> flags;
    std::string kernel;
    uint64_t cycles = 0;                /* the plain sum of the instructions' costs */
    std::array<uint64_t, NPIPE> time{}; /* when each pipe is free (the pipe clocks) */
    int last_pipe = PIPE_S;             /* the pipe of the last issued instruction */
    int block_idx = 0, block_num = 1;

    Core()
    {
        for (int l = 0; l < NLEVEL; ++l) {
            mem[l].assign(level_info(l).size / 8, 0);
            blk[l].resize(level_info(l).size / BLOCK);
        }
    }
    void reset(const char *name)
    {
        for (int l = 0; l < NLEVEL; ++l)
            blk[l].assign(blk[l].size(), Block());
        recs.clear();
        binds.clear();
        clock.fill(0);
        for (auto &s : seen)
            s.fill(0);
        flags.clear();
        kernel = name ? name : "";
        cycles = 0;
        time.fill(0);
        last_pipe = PIPE_S;
    }

    [[noreturn]] void fail(const char *instr, const Loc &loc, const std::string &rule,
                           const std::string &what) const
    {
        std::string k = kernel.empty() ? std::string(loc.function_name()) : kernel;
        throw cpu_sim::CheckError("PTO-ISA check failed in kernel '" + k + "': " + instr + " at "
                                  + loc.file_name() + ":" + std::to_string(loc.line()) + ": ["
                                  + rule + "] " + what);
    }
    static std::string where(const Loc &l)
    {
        return std::string(l.file_name()) + ":" + std::to_string(l.line());
    }
    std::string range(int level, uint32_t addr, uint32_t bytes) const
    {
        char b[96];
        std::snprintf(b, sizeof b, "%s[0x%x, 0x%x)", level_info(level).name, addr, addr + bytes);
        return b;
    }
    std::string bind_str(int id) const
    {
        const Bind &b = binds[id];
        return "the tile TASSIGNed to " + range(b.level, b.addr, b.bytes) + " at " + where(b.loc);
    }
    std::string rec_str(int id) const
    {
        return std::string(recs[id].instr) + " (" + pipe_name(recs[id].pipe) + ") at "
               + where(recs[id].loc);
    }

    /* TASSIGN: bind `bytes` at `addr` of `level`; returns the binding id (an exact repeat of a
     * binding is the same tile view) */
    int assign(int level, uint64_t addr, uint32_t bytes, const Loc &loc)
    {
        const LevelInfo &li = level_info(level);
        if (addr % BLOCK)
            fail("TASSIGN", loc, "alignment",
                 range(level, (uint32_t)addr, bytes) + " is not 32-byte aligned");
        if (addr + bytes > li.budget)
            fail("TASSIGN", loc, "buffer budget",
                 "a " + std::to_string(bytes) + "-byte tile at " + li.name + " 0x"
                     + to_hex(addr) + " ends at byte " + std::to_string(addr + bytes)
                     + ", beyond the " + std::to_string(li.budget) + " bytes kernels may use ("
                     + li.name + " is " + li.why + ")");
        for (size_t i = 0; i < binds.size(); ++i)
            if (binds[i].level == level && binds[i].addr == addr && binds[i].bytes == bytes)
                return (int)i;
        binds.push_back(Bind{level, (uint32_t)addr, bytes, loc});
        return (int)binds.size() - 1;
    }
    static std::string to_hex(uint64_t v)
    {
        char b[32];
        std::snprintf(b, sizeof b, "%llx", (unsigned long long)v);
        return b;
    }

    /* issue one instruction on `pipe` reading `rd` and writing `wr`: check, then record */
    void issue(const char *instr, int pipe, std::initializer_list<Ref> rd,
               std::initializer_list<Ref> wr, const Loc &loc)
    {
        const uint32_t stamp = clock[pipe] + 1;
        for (const Ref &r : rd)
            for_blocks(r, [&](Block &b) {
                if (b.wbind < 0)
                    fail(instr, loc, "uninitialised read",
                         "reads " + bind_str(r.bind) + " before anything wrote it");
                if (b.wbind != r.bind)
                    fail(instr, loc, "TASSIGN overlap",
                         "reads " + bind_str(r.bind) + ", but " + rec_str(b.wrec)
                             + " overwrote its bytes through " + bind_str(b.wbind)
                             + " while it was live");
                raw(instr, pipe, b, loc, r);
            });
        for (const Ref &w : wr)
            for_blocks(w, [&](Block &b) {
                if (b.wrec >= 0)
                    raw(instr, pipe, b, loc, w);
                for (int q = 0; q < NPIPE; ++q)
                    if (q != pipe && b.rrec[q] >= 0 && recs[b.rrec[q]].stamp > seen[pipe][q])
                        fail(instr, loc, "sync",
                             std::string("overwrites ") + bind_str(w.bind) + " that "
                                 + rec_str(b.rrec[q]) + " reads, with no set_flag/wait_flag("
                                 + pipe_name(q) + ", " + pipe_name(pipe)
                                 + ") or pipe_barrier(PIPE_ALL) in between");
            });
        clock[pipe] = stamp;
        last_pipe = pipe;
        const int32_t id = (int32_t)recs.size();
        recs.push_back(Rec{instr, loc, pipe, stamp});
        for (const Ref &r : rd)
            for_blocks(r, [&](Block &b) { b.rrec[pipe] = id; });
        for (const Ref &w : wr)
            for_blocks(w, [&](Block &b) {
                b.wrec = id;
                b.wbind = w.bind;
            });
    }
    void raw(const char *instr, int pipe, const Block &b, const Loc &loc, const Ref &r)
    {
        const Rec &w = recs[b.wrec];
        if (w.pipe != pipe && w.stamp > seen[pipe][w.pipe])
            fail(instr, loc, "sync",
                 std::string("accesses ") + bind_str(r.bind) + " that " + rec_str(b.wrec)
                     + " writes, with no set_flag/wait_flag(" + pipe_name(w.pipe) + ", "
                     + pipe_name(pipe) + ") or pipe_barrier(PIPE_ALL) in between");
    }
    template <class F> void for_blocks(const Ref &r, F f)
    {
        for (uint32_t a = r.addr / BLOCK; a < (r.addr + r.bytes + BLOCK - 1) / BLOCK; ++a)
            f(blk[r.level][a]);
    }

    static int flag_key(int src, int dst, int ev) { return (src * 16 + dst) * 16 + ev; }
    void set_flag(int src, int dst, int ev, const Loc &loc)
    {
        check_pipes("set_flag", src, dst, ev, loc);
        std::array<uint32_t, NPIPE> snap = seen[src];
        snap[src] = clock[src];
        flags[flag_key(src, dst, ev)].push_back(Flag{snap, time[src]});
    }
    void wait_flag(int src, int dst, int ev, const Loc &loc)
    {
        check_pipes("wait_flag", src, dst, ev, loc);
        auto &q = flags[flag_key(src, dst, ev)];
        if (q.empty())
            fail("wait_flag", loc, "sync",
                 std::string("wait_flag(") + pipe_name(src) + ", " + pipe_name(dst) + ", EVENT_ID"
                     + std::to_string(ev) + ") has no earlier matching set_flag: the NPU would hang");
        for (int p = 0; p < NPIPE; ++p)
            seen[dst][p] = std::max(seen[dst][p], q.front().seen[p]);
        time[dst] = std::max(time[dst], q.front().time); /* the pipe stalls until the flag */
        q.pop_front();
    }
    void barrier(int pipe, const Loc &loc)
    {
        if (pipe < 0 || pipe > PIPE_ALL)
            fail("pipe_barrier", loc, "sync", "unknown pipe");
        if (pipe == PIPE_ALL) { /* all pipes drain: everyone has seen everything */
            for (auto &s : seen)
                s = clock;
            time.fill(span());
        }
        /* a single pipe executes in order: pipe_barrier(PIPE_X) orders nothing new here */
    }
    /* an instruction's cost: it runs on its pipe from when that pipe is free */
    void charge(uint64_t c)
    {
        cycles += c;
        time[last_pipe] += c;
    }
    uint64_t span() const
    {
        uint64_t m = 0;
        for (uint64_t t : time)
            m = std::max(m, t);
        return m;
    }
    void check_pipes(const char *what, int src, int dst, int ev, const Loc &loc)
    {
        if (src < 0 || src >= NPIPE || dst < 0 || dst >= NPIPE || src == dst || ev < 0 || ev > 7)
            fail(what, loc, "sync",
                 std::string("needs two different pipes and an EVENT_ID0..7, got ") + pipe_name(src)
                     + ", " + pipe_name(dst) + ", " + std::to_string(ev));
    }
};

inline Core &core()
{
    static thread_local Core c;
    return c;
}

} // namespace detail

namespace cpu_sim {
/* start a kernel on this thread: fresh on-chip state, flags and cycle counter */
inline void begin_kernel(const char *name) { detail::core().reset(name); }
inline void reset_cycles() { detail::core().cycles = 0; }
/* charge the last issued instruction `c` cycles (on its pipe) */
inline void add_cycles(uint64_t c) { detail::core().charge(c); }
/* the plain sum of the kernel's instruction costs (straight-line kernels' cycle report) */
inline uint64_t read_cycles() { return detail::core().cycles; }
/* the pipe clocks' makespan under the A2/A3 model (kernels with loops); the plain sum under
 * the v9-compatible model, as cpu_sim's pto_pipes.h */
inline uint64_t read_pipe_cycles()
{
#if PTO_COST_MODEL == 1
    return detail::core().span();
#else
    return detail::core().cycles;
#endif
}
inline void set_block(int idx, int num)
{
    detail::core().block_idx = idx;
    detail::core().block_num = num;
}
} // namespace cpu_sim

} // namespace pto

inline void set_flag(pipe_t src, pipe_t dst, event_t ev, std::source_location loc = std::source_location::current())
{
    pto::detail::core().set_flag(src, dst, ev, loc);
}
inline void wait_flag(pipe_t src, pipe_t dst, event_t ev, std::source_location loc = std::source_location::current())
{
    pto::detail::core().wait_flag(src, dst, ev, loc);
}
inline void pipe_barrier(pipe_t pipe, std::source_location loc = std::source_location::current())
{
    pto::detail::core().barrier(pipe, loc);
}
inline int64_t get_block_idx() { return pto::detail::core().block_idx; }
inline int64_t get_block_num() { return pto::detail::core().block_num; }

#endif /* PTO_HOST_CHECK_HPP */
