// Hand-written PTO-ISA kernels run through pto-wsp's host layer (runtime_c/pto/).
// Usage: host_kernels <case> <dir>: reads <dir>/<param>.bin, writes <dir>/<param>.out.bin, prints
// "cycles <n>"; a check failure prints "CheckError: <message>" and exits with status 3.
#include <pto/pto-inst.hpp>

#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <vector>

using namespace pto;

template <int R, int C> using VecF = Tile<TileType::Vec, float, R, C, BLayout::RowMajor>;
template <int R> using ColF = Tile<TileType::Vec, float, R, 1, BLayout::ColMajor>;
template <typename T, int R, int C> using GND = GlobalTensor<T, Shape<1, 1, 1, R, C>, Stride<1, 1, 1, C, 1>>;
template <typename T, int R> using GCol = GlobalTensor<T, Shape<1, 1, 1, R, 1>, Stride<1, 1, 1, 1, R>, Layout::DN>;
template <typename T, int R, int C>
using MatNZ = Tile<TileType::Mat, T, R, C, BLayout::ColMajor, R, C, SLayout::RowMajor, 512>;

// ---- positive kernels: the same instruction sequences as the cpu_sim kernels in the test ----
extern "C" __global__ AICORE void vec_k(__gm__ float *x, __gm__ float *y, __gm__ float *z, __gm__ float *s)
{
    VecF<16, 64> a, b, e, tmp;
    ColF<16> rs;
    TASSIGN(a, 0x0);
    TASSIGN(b, 0x1000);
    TASSIGN(e, 0x2000);
    TASSIGN(tmp, 0x3000);
    TASSIGN(rs, 0x4000);
    GND<float, 16, 64> gx(x), gy(y), gz(z);
    GCol<float, 16> gs(s);
    TLOAD(a, gx);
    TLOAD(b, gy);
    set_flag(PIPE_MTE2, PIPE_V, EVENT_ID0);
    wait_flag(PIPE_MTE2, PIPE_V, EVENT_ID0);
    TADD(e, a, b);
    TEXP(e, e);
    set_flag(PIPE_V, PIPE_MTE3, EVENT_ID0);
    wait_flag(PIPE_V, PIPE_MTE3, EVENT_ID0);
    TSTORE(gz, e);
    TROWSUM(rs, e, tmp);
    set_flag(PIPE_V, PIPE_MTE3, EVENT_ID1);
    wait_flag(PIPE_V, PIPE_MTE3, EVENT_ID1);
    TSTORE(gs, rs);
}

extern "C" __global__ AICORE void mm_k(__gm__ half *a, __gm__ half *b, __gm__ float *c)
{
    MatNZ<half, 16, 32> am;
    MatNZ<half, 32, 16> bm;
    TileLeft<half, 16, 32> al;
    TileRight<half, 32, 16> br;
    TileAcc<float, 16, 16> acc;
    TASSIGN(am, 0x0);
    TASSIGN(bm, 0x400);
    TASSIGN(al, 0x0);
    TASSIGN(br, 0x0);
    TASSIGN(acc, 0x0);
    GND<half, 16, 32> ga(a);
    GND<half, 32, 16> gb(b);
    GND<float, 16, 16> gc(c);
    TLOAD(am, ga);
    TLOAD(bm, gb);
    set_flag(PIPE_MTE2, PIPE_MTE1, EVENT_ID0);
    wait_flag(PIPE_MTE2, PIPE_MTE1, EVENT_ID0);
    TMOV(al, am);
    TMOV(br, bm);
    set_flag(PIPE_MTE1, PIPE_M, EVENT_ID0);
    wait_flag(PIPE_MTE1, PIPE_M, EVENT_ID0);
    TMATMUL(acc, al, br);
    set_flag(PIPE_M, PIPE_FIX, EVENT_ID0);
    wait_flag(PIPE_M, PIPE_FIX, EVENT_ID0);
    TSTORE(gc, acc);
}

// rmsnorm: the [16,1] row sums are ColMajor; the scalar ops run on a RowMajor [1,16] view of
// the same bytes
extern "C" __global__ AICORE void rms(__gm__ float *x, __gm__ float *out)
{
    VecF<16, 128> xt, sq, tmp, o;
    ColF<16> rs;
    VecF<1, 16> rv;
    TASSIGN(xt, 0x0);
    TASSIGN(sq, 0x2000);
    TASSIGN(tmp, 0x4000);
    TASSIGN(o, 0x2000); // reuses sq's space: sq is dead once the row sums exist
    TASSIGN(rs, 0x6000);
    TASSIGN(rv, 0x6000);
    GND<float, 16, 128> gx(x), go(out);
    TLOAD(xt, gx);
    set_flag(PIPE_MTE2, PIPE_V, EVENT_ID0);
    wait_flag(PIPE_MTE2, PIPE_V, EVENT_ID0);
    TMUL(sq, xt, xt);
    TROWSUM(rs, sq, tmp);
    TMULS(rv, rv, 1.0f / 128);
    TRSQRT(rv, rv);
    TROWEXPANDMUL(o, xt, rs);
    set_flag(PIPE_V, PIPE_MTE3, EVENT_ID0);
    wait_flag(PIPE_V, PIPE_MTE3, EVENT_ID0);
    TSTORE(go, o);
}

// where(x > 0.5, x, -x) in f16, then cast to f32: packed masks, half scalars, TCVT
extern "C" __global__ AICORE void sel_k(__gm__ half *x, __gm__ float *y)
{
    Tile<TileType::Vec, half, 8, 64> xt, nx, sel;
    Tile<TileType::Vec, uint8_t, 8, 32> mask;
    VecF<8, 64> yt;
    TASSIGN(xt, 0x0);
    TASSIGN(nx, 0x400);
    TASSIGN(sel, 0x800);
    TASSIGN(mask, 0xc00);
    TASSIGN(yt, 0x1000);
    GND<half, 8, 64> gx(x);
    GND<float, 8, 64> gy(y);
    TLOAD(xt, gx);
    pipe_barrier(PIPE_ALL);
    TCMPS(mask, xt, half(0.5), CmpMode::GT);
    TNEG(nx, xt);
    TSEL(sel, mask, xt, nx);
    TCVT(yt, sel, RoundMode::CAST_RINT);
    pipe_barrier(PIPE_ALL);
    TSTORE(gy, yt);
}

// double-buffered streaming y[i] = x[i] * 2 over 4 tiles: ping-pong buffers, EVENT_ID0/1 and
// the back edges (V -> MTE2, MTE3 -> V) before a buffer is reused
template <bool BackEdges> void stream(__gm__ float *x, __gm__ float *y)
{
    VecF<8, 64> in[2], out[2];
    for (int p = 0; p < 2; ++p) {
        TASSIGN(in[p], 0x0 + p * 0x800);
        TASSIGN(out[p], 0x1000 + p * 0x800);
    }
    const event_t ev[2] = {EVENT_ID0, EVENT_ID1};
    if (BackEdges)
        for (int p = 0; p < 2; ++p) {
            set_flag(PIPE_V, PIPE_MTE2, ev[p]);
            set_flag(PIPE_MTE3, PIPE_V, ev[p]);
        }
    for (int i = 0; i < 4; ++i) {
        const int p = i % 2;
        GND<float, 8, 64> gx(x + i * 512), gy(y + i * 512);
        if (BackEdges)
            wait_flag(PIPE_V, PIPE_MTE2, ev[p]);
        TLOAD(in[p], gx);
        set_flag(PIPE_MTE2, PIPE_V, ev[p]);
        wait_flag(PIPE_MTE2, PIPE_V, ev[p]);
        if (BackEdges)
            wait_flag(PIPE_MTE3, PIPE_V, ev[p]);
        TMULS(out[p], in[p], 2.0f);
        if (BackEdges)
            set_flag(PIPE_V, PIPE_MTE2, ev[p]);
        set_flag(PIPE_V, PIPE_MTE3, ev[p]);
        wait_flag(PIPE_V, PIPE_MTE3, ev[p]);
        TSTORE(gy, out[p]);
        if (BackEdges)
            set_flag(PIPE_MTE3, PIPE_V, ev[p]);
    }
}
extern "C" __global__ AICORE void stream_k(__gm__ float *x, __gm__ float *y) { stream<true>(x, y); }

// a DYNAMIC 5x40 valid region moved GM -> UB -> GM, and a 5-D view: two 8x64 slabs 1024
// elements apart stacked into one 16x64 tile
extern "C" __global__ AICORE void views_k(__gm__ float *x, __gm__ float *y)
{
    Tile<TileType::Vec, float, 16, 64, BLayout::RowMajor, DYNAMIC, DYNAMIC> part(5, 40);
    VecF<16, 64> whole;
    TASSIGN(part, 0x0);
    TASSIGN(whole, 0x1000);
    using S = Shape<1, 1, 1, DYNAMIC, DYNAMIC>;
    using St = Stride<1, 1, 1, 64, 1>;
    GlobalTensor<float, S, St> gx(x, S(5, 40)), gy(y, S(5, 40));
    GlobalTensor<float, Shape<1, 1, 2, 8, 64>, Stride<1, 1, 1024, 64, 1>> slabs(x);
    GND<float, 16, 64> gout(y + 2048);
    TLOAD(part, gx);
    TLOAD(whole, slabs);
    set_flag(PIPE_MTE2, PIPE_MTE3, EVENT_ID0);
    wait_flag(PIPE_MTE2, PIPE_MTE3, EVENT_ID0);
    TSTORE(gy, part);
    TSTORE(gout, whole);
}

// ---- broken kernels: each breaks one rule the host layer checks ----
extern "C" __global__ AICORE void no_flag(__gm__ float *x, __gm__ float *y)
{
    VecF<16, 64> a, b;
    TASSIGN(a, 0x0);
    TASSIGN(b, 0x1000);
    GND<float, 16, 64> gx(x), gy(y);
    TLOAD(a, gx);
    TADD(b, a, a); // no set_flag/wait_flag(PIPE_MTE2, PIPE_V)
    pipe_barrier(PIPE_ALL);
    TSTORE(gy, b);
}
extern "C" __global__ AICORE void no_back_edge(__gm__ float *x, __gm__ float *y) { stream<false>(x, y); }
extern "C" __global__ AICORE void overlap(__gm__ float *x, __gm__ float *y)
{
    VecF<16, 64> a, b; // 4 KB each
    TASSIGN(a, 0x0);
    TASSIGN(b, 0x800); // overlaps the upper half of a
    GND<float, 16, 64> gx(x), gy(y);
    TLOAD(a, gx);
    pipe_barrier(PIPE_ALL);
    TEXPANDS(b, 1.0f);
    TADD(b, a, a); // a was clobbered by TEXPANDS while live
    pipe_barrier(PIPE_ALL);
    TSTORE(gy, b);
}
extern "C" __global__ AICORE void ub_budget(__gm__ float *x, __gm__ float *y)
{
    VecF<16, 1024> big; // 64 KB
    TASSIGN(big, 0x20000); // 128 KB + 64 KB > 184 KB usable
    (void)x;
    (void)y;
}
extern "C" __global__ AICORE void l0a_budget(__gm__ float *x, __gm__ float *y)
{
    TileLeft<half, 128, 256> a; // 64 KB
    TASSIGN(a, 0x100);
    (void)x;
    (void)y;
}
extern "C" __global__ AICORE void unaligned(__gm__ float *x, __gm__ float *y)
{
    VecF<16, 64> a;
    TASSIGN(a, 0x10);
    (void)x;
    (void)y;
}
extern "C" __global__ AICORE void shape(__gm__ float *x, __gm__ float *y)
{
    VecF<16, 64> a;
    TASSIGN(a, 0x0);
    GND<float, 16, 32> gx(x); // 16x32 view into a 16x64 tile
    (void)y;
    TLOAD(a, gx);
}
extern "C" __global__ AICORE void partial_add(__gm__ float *x, __gm__ float *y)
{
    Tile<TileType::Vec, float, 16, 64, BLayout::RowMajor, 16, 40> a;
    TASSIGN(a, 0x0);
    GlobalTensor<float, Shape<1, 1, 1, 16, 40>, Stride<1, 1, 1, 64, 1>> gx(x);
    (void)y;
    TLOAD(a, gx);
    pipe_barrier(PIPE_ALL);
    TADD(a, a, a); // the host layer runs vector instructions on whole rows only
}
extern "C" __global__ AICORE void hang(__gm__ float *x, __gm__ float *y)
{
    (void)x;
    (void)y;
    wait_flag(PIPE_MTE2, PIPE_V, EVENT_ID3);
}
extern "C" __global__ AICORE void uninit(__gm__ float *x, __gm__ float *y)
{
    VecF<16, 64> a, b;
    TASSIGN(a, 0x0);
    TASSIGN(b, 0x1000);
    GND<float, 16, 64> gy(y);
    (void)x;
    TADD(b, a, a);
    pipe_barrier(PIPE_ALL);
    TSTORE(gy, b);
}

// ---- driver ----
static std::string dir;
static std::vector<unsigned char> input(const char *name, size_t bytes)
{
    std::vector<unsigned char> v(bytes);
    FILE *f = std::fopen((dir + "/" + name + ".bin").c_str(), "rb");
    if (f) { // up to `bytes`: the rest stays zero
        (void)!std::fread(v.data(), 1, bytes, f);
        std::fclose(f);
    }
    return v;
}
static void output(const char *name, const std::vector<unsigned char> &v)
{
    FILE *f = std::fopen((dir + "/" + name + ".out.bin").c_str(), "wb");
    std::fwrite(v.data(), 1, v.size(), f);
    std::fclose(f);
}
template <class T> static T *p(std::vector<unsigned char> &v) { return reinterpret_cast<T *>(v.data()); }

int main(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    const std::string c = argv[1];
    dir = argv[2];
    auto x = input("x", 1 << 16), y = input("y", 1 << 16), z = input("z", 1 << 16), s = input("s", 64);
    using K2 = void (*)(float *, float *);
    const std::map<std::string, K2> two = {
        {"rms", rms}, {"stream_k", stream_k}, {"no_flag", no_flag}, {"no_back_edge", no_back_edge},
        {"overlap", overlap}, {"ub_budget", ub_budget}, {"l0a_budget", l0a_budget},
        {"unaligned", unaligned}, {"hang", hang}, {"uninit", uninit}, {"views_k", views_k},
        {"shape", shape}, {"partial_add", partial_add}};
    try {
        cpu_sim::begin_kernel(c.c_str());
        if (c == "vec_k") {
            vec_k(p<float>(x), p<float>(y), p<float>(z), p<float>(s));
            output("z", z);
            output("s", s);
        } else if (c == "mm_k") {
            mm_k(p<half>(x), p<half>(y), p<float>(z));
            output("z", z);
        } else if (c == "sel_k") {
            sel_k(p<half>(x), p<float>(y));
            output("y", y);
        } else if (two.count(c)) {
            two.at(c)(p<float>(x), p<float>(y));
            output("y", y);
        } else {
            return 2;
        }
    } catch (const cpu_sim::CheckError &e) {
        std::printf("CheckError: %s\n", e.what());
        return 3;
    }
    std::printf("cycles %llu\n", (unsigned long long)cpu_sim::read_cycles());
    return 0;
}
