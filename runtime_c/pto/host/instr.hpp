/* pto/host/instr.hpp -- the PTO-ISA instructions of the host layer.  Each one checks its operands
 * (static rules at compile time, sync/buffer rules through check.hpp), runs the C tile library
 * function cpu_sim uses and adds that function's cycles, so a kernel built on this layer gives
 * the same values and cycle report as the same kernel in cpu_sim (docs/ascend.md). */
#ifndef PTO_HOST_INSTR_HPP
#define PTO_HOST_INSTR_HPP

#include <cstring>
#include <utility>
#include <vector>

#include "check.hpp"

namespace pto {
namespace detail {

/* ---- C tile library functions by element type: fn_<name><T>::f ---------------------------- */
#define PTO_H_TY_f32 float
#define PTO_H_TY_f64 double
#define PTO_H_TY_f16 half
#define PTO_H_TY_bf16 bfloat16_t
#define PTO_H_TY_i8 int8_t
#define PTO_H_TY_i16 int16_t
#define PTO_H_TY_i32 int32_t
#define PTO_H_TY_i64 int64_t
#define PTO_H_TY_u8 uint8_t
#define PTO_H_TY_u16 uint16_t
#define PTO_H_TY_u32 uint32_t
#define PTO_H_TY_u64 uint64_t
#define PTO_H_FN(s, name)                                                                         \
    template <> struct fn_##name<PTO_H_TY_##s> {                                                  \
        static constexpr auto f = &pto_##name##_##s;                                              \
    };
#define PTO_H_ALL(name) template <class T> struct fn_##name; PTO__ALL(PTO_H_FN, name)
#define PTO_H_FLOATS(name) template <class T> struct fn_##name; PTO__FLOATS(PTO_H_FN, name)
#define PTO_H_INTS(name) template <class T> struct fn_##name; PTO__INTS(PTO_H_FN, name)
PTO_H_ALL(tload) PTO_H_ALL(tstore) PTO_H_ALL(tmov) PTO_H_ALL(texpands) PTO_H_ALL(textract)
PTO_H_ALL(tci)
PTO_H_ALL(tadd) PTO_H_ALL(tsub) PTO_H_ALL(tmul) PTO_H_ALL(tdiv) PTO_H_ALL(tmax) PTO_H_ALL(tmin)
PTO_H_ALL(tadds) PTO_H_ALL(tsubs) PTO_H_ALL(tmuls) PTO_H_ALL(tdivs) PTO_H_ALL(tmaxs)
PTO_H_ALL(tmins) PTO_H_ALL(trdivs)
PTO_H_INTS(tand) PTO_H_INTS(tor) PTO_H_INTS(txor) PTO_H_INTS(tshl) PTO_H_INTS(tshr)
PTO_H_INTS(tands) PTO_H_INTS(tors) PTO_H_INTS(txors) PTO_H_INTS(tshls) PTO_H_INTS(tshrs)
PTO_H_FLOATS(texp) PTO_H_FLOATS(tlog) PTO_H_FLOATS(tsqrt) PTO_H_FLOATS(trsqrt) PTO_H_FLOATS(trecip)
PTO_H_ALL(tabs) PTO_H_ALL(trelu) PTO_H_ALL(tneg) PTO_H_INTS(tnot)
PTO_H_ALL(tcmp) PTO_H_ALL(tcmps) PTO_H_ALL(tsel)
PTO_H_ALL(trowsum) PTO_H_ALL(trowmax) PTO_H_ALL(trowmin)
PTO_H_ALL(tcolsum) PTO_H_ALL(tcolmax) PTO_H_ALL(tcolmin)
PTO_H_ALL(trowexpand) PTO_H_ALL(tcolexpand)
PTO_H_ALL(trowexpandadd) PTO_H_ALL(trowexpandsub) PTO_H_ALL(trowexpandmul)
PTO_H_ALL(trowexpanddiv) PTO_H_ALL(trowexpandmax) PTO_H_ALL(trowexpandmin)
PTO_H_ALL(tcolexpandadd) PTO_H_ALL(tcolexpandsub) PTO_H_ALL(tcolexpandmul)
PTO_H_ALL(tcolexpanddiv) PTO_H_ALL(tcolexpandmax) PTO_H_ALL(tcolexpandmin)
template <class T> struct fn_tstore_add;
PTO_H_FN(f32, tstore_add) PTO_H_FN(i32, tstore_add)
template <class T> struct fn_tmatmul;
template <class T> struct fn_tmatmul_acc;
PTO_H_FN(f32, tmatmul) PTO_H_FN(f16, tmatmul) PTO_H_FN(bf16, tmatmul) PTO_H_FN(i8, tmatmul)
PTO_H_FN(f32, tmatmul_acc) PTO_H_FN(f16, tmatmul_acc) PTO_H_FN(bf16, tmatmul_acc) PTO_H_FN(i8, tmatmul_acc)
template <class D, class S> struct fn_tcvt;
#define PTO_H_CVT(S, D)                                                                           \
    template <> struct fn_tcvt<PTO_H_TY_##D, PTO_H_TY_##S> {                                      \
        static constexpr auto f = &pto_tcvt_##D##_##S;                                            \
    };
#define PTO_H_CVT_TO(D, _u) PTO__FLOATS2(PTO_H_CVT, D) PTO__INTS2(PTO_H_CVT, D)
PTO__ALL(PTO_H_CVT_TO, _)
#undef PTO_H_CVT_TO
#undef PTO_H_CVT
#undef PTO_H_ALL
#undef PTO_H_FLOATS
#undef PTO_H_INTS
#undef PTO_H_FN

template <class T> inline typename Sfx<T>::C *raw(T *p) { return reinterpret_cast<typename Sfx<T>::C *>(p); }

/* ---- operands ------------------------------------------------------------------------------ */
template <class TileT> constexpr bool col_storage =
    TileT::SFractal == SLayout::NoneBox && TileT::BFractal == BLayout::ColMajor;

template <class TileT> Ref ref(TileT &t, const char *instr, const Loc &loc)
{
    Core &k = core();
    if (!t.host_data || t.host_bind < 0 || (size_t)t.host_bind >= k.binds.size())
        k.fail(instr, loc, "TASSIGN", "uses a tile that was never TASSIGNed in this kernel");
    const Bind &b = k.binds[t.host_bind];
    return Ref{b.level, t.host_bind, b.addr, b.bytes};
}

/* (rows, cols) of the valid region as one contiguous block of storage */
template <class TileT> std::pair<int, int> flat(const TileT &t, const char *instr, const Loc &loc)
{
    const int vr = t.GetValidRow(), vc = t.GetValidCol();
    if (col_storage<TileT>) {
        if (vr != TileT::Rows && vc != 1)
            core().fail(instr, loc, "valid region",
                        "the host layer runs this instruction on ColMajor tiles only with all "
                        "rows valid");
        return {vc, vr};
    }
    if (vc != TileT::Cols && vr != 1)
        core().fail(instr, loc, "valid region",
                    "the host layer runs this instruction on RowMajor tiles only with all "
                    "columns valid");
    return {vr, vc};
}

template <class A, class B> void same_region(const A &a, const B &b, const char *instr, const Loc &loc)
{
    if (a.GetValidRow() != b.GetValidRow() || a.GetValidCol() != b.GetValidCol())
        core().fail(instr, loc, "valid region",
                    "operand valid regions differ (" + std::to_string(a.GetValidRow()) + "x"
                        + std::to_string(a.GetValidCol()) + " vs " + std::to_string(b.GetValidRow())
                        + "x" + std::to_string(b.GetValidCol()) + ")");
}

template <class... T> constexpr bool all_vec = ((T::Loc == TileType::Vec) && ...);
template <class T0, class... T> constexpr bool same_dtype = (std::is_same_v<typename T0::DType, typename T::DType> && ...);
template <class T0, class... T> constexpr bool same_storage = ((col_storage<T0> == col_storage<T>) && ...);

/* run `call(dst_ptr)` writing dst; through a scratch copy when dst overlaps a source, since the
 * C tile library takes restrict pointers */
template <class TD, class F> void into(TD &dst, std::initializer_list<const void *> srcs, F call)
{
    using T = typename TD::DType;
    bool alias = false;
    for (const void *s : srcs)
        alias |= s == (const void *)dst.host_data;
    if (!alias)
        return cpu_sim::add_cycles(call(raw(dst.host_data)));
    std::vector<T> tmp(TD::Rows * TD::Cols);
    cpu_sim::add_cycles(call(raw(tmp.data())));
    std::memcpy((void *)dst.host_data, (const void *)tmp.data(), TD::Bytes);
}

/* a [R,1] column (ColMajor [R,1], or RowMajor with valid column 1) gathered contiguously */
template <class TV> std::vector<typename TV::DType> column(TV &v, int rows)
{
    std::vector<typename TV::DType> c(rows);
    const int pitch = col_storage<TV> ? 1 : TV::Cols;
    for (int i = 0; i < rows; ++i)
        c[i] = v.host_data[(size_t)i * pitch];
    return c;
}

template <template <class> class F, class TD, class TA, class TB>
void binop(const char *name, TD &d, TA &a, TB &b, const Loc &loc)
{
    static_assert(all_vec<TD, TA, TB>, "PTO-ISA tile role: element-wise instructions take Vec tiles");
    static_assert(same_dtype<TD, TA, TB>, "element-wise instructions need one element type");
    static_assert(same_storage<TD, TA, TB>, "element-wise operands need one layout");
    same_region(d, a, name, loc);
    same_region(d, b, name, loc);
    const auto [r, c] = flat(d, name, loc);
    core().issue(name, PIPE_V, {ref(a, name, loc), ref(b, name, loc)}, {ref(d, name, loc)}, loc);
    into(d, {a.host_data, b.host_data},
         [&](auto *dp) { return F<typename TD::DType>::f(dp, raw(a.host_data), raw(b.host_data), r, c); });
}

template <template <class> class F, class TD, class TS>
void unop(const char *name, TD &d, TS &s, const Loc &loc)
{
    static_assert(all_vec<TD, TS>, "PTO-ISA tile role: vector instructions take Vec tiles");
    static_assert(same_dtype<TD, TS>, "unary instructions keep the element type (use TCVT)");
    static_assert(TD::BFractal == BLayout::RowMajor && TS::BFractal == BLayout::RowMajor,
                  "PTO-ISA: unary and scalar-operand instructions need RowMajor tiles (TASSIGN a "
                  "RowMajor view to the same bytes)");
    same_region(d, s, name, loc);
    const auto [r, c] = flat(d, name, loc);
    core().issue(name, PIPE_V, {ref(s, name, loc)}, {ref(d, name, loc)}, loc);
    into(d, {s.host_data}, [&](auto *dp) { return F<typename TD::DType>::f(dp, raw(s.host_data), r, c); });
}

template <template <class> class F, class TD, class TS>
void scalarop(const char *name, TD &d, TS &s, typename TD::DType v, bool scalar_first, const Loc &loc)
{
    static_assert(all_vec<TD, TS>, "PTO-ISA tile role: vector instructions take Vec tiles");
    static_assert(same_dtype<TD, TS>, "scalar-operand instructions keep the element type");
    static_assert(TD::BFractal == BLayout::RowMajor && TS::BFractal == BLayout::RowMajor,
                  "PTO-ISA: scalar-operand instructions need RowMajor tiles");
    using T = typename TD::DType;
    same_region(d, s, name, loc);
    const auto [r, c] = flat(d, name, loc);
    core().issue(name, PIPE_V, {ref(s, name, loc)}, {ref(d, name, loc)}, loc);
    into(d, {s.host_data}, [&](auto *dp) {
        if constexpr (requires { F<T>::f(dp, raw(s.host_data), Sfx<T>::scalar(v), r, c); })
            if (!scalar_first)
                return F<T>::f(dp, raw(s.host_data), Sfx<T>::scalar(v), r, c);
        if constexpr (requires { F<T>::f(dp, Sfx<T>::scalar(v), raw(s.host_data), r, c); })
            return F<T>::f(dp, Sfx<T>::scalar(v), raw(s.host_data), r, c);
        return uint64_t(0);
    });
}

/* row / column vector operand checks for reductions and broadcasts */
template <class TV> void col_vector(TV &v, int rows, const char *name, const Loc &loc)
{
    static_assert(TV::Cols == 1 || TV::BFractal == BLayout::RowMajor,
                  "a [R,1] vector is ColMajor [R,1] or RowMajor with valid column 1");
    if (v.GetValidCol() != 1 || v.GetValidRow() != rows)
        core().fail(name, loc, "shape", "needs a [" + std::to_string(rows) + ", 1] vector operand");
}
template <class TV> void row_vector(TV &v, int cols, const char *name, const Loc &loc)
{
    static_assert(TV::BFractal == BLayout::RowMajor, "a [1,C] vector is a RowMajor tile");
    if (v.GetValidRow() != 1 || v.GetValidCol() != cols)
        core().fail(name, loc, "shape", "needs a [1, " + std::to_string(cols) + "] vector operand");
}

template <template <class> class F, class TD, class TS, class TT>
void rowreduce(const char *name, TD &d, TS &s, TT &tmp, const Loc &loc)
{
    static_assert(all_vec<TD, TS, TT>, "PTO-ISA tile role: reductions take Vec tiles");
    static_assert(same_dtype<TD, TS, TT>, "reductions keep the element type");
    static_assert(!col_storage<TS>, "row reductions read a RowMajor (ND) source");
    using T = typename TD::DType;
    const auto [r, c] = flat(s, name, loc);
    col_vector(d, r, name, loc);
    core().issue(name, PIPE_V, {ref(s, name, loc)}, {ref(d, name, loc), ref(tmp, name, loc)}, loc);
    std::vector<T> out(r);
    cpu_sim::add_cycles(F<T>::f(raw(out.data()), raw(s.host_data), r, c));
    const int pitch = col_storage<TD> ? 1 : TD::Cols;
    for (int i = 0; i < r; ++i)
        d.host_data[(size_t)i * pitch] = out[i];
}

template <template <class> class F, class TD, class TS>
void colreduce(const char *name, TD &d, TS &s, const Loc &loc, std::initializer_list<Ref> extra = {})
{
    static_assert(all_vec<TD, TS>, "PTO-ISA tile role: reductions take Vec tiles");
    static_assert(same_dtype<TD, TS>, "reductions keep the element type");
    static_assert(!col_storage<TS>, "column reductions read a RowMajor (ND) source");
    const auto [r, c] = flat(s, name, loc);
    row_vector(d, c, name, loc);
    std::vector<Ref> w{ref(d, name, loc)};
    w.insert(w.end(), extra);
    Core &k = core();
    if (w.size() == 1)
        k.issue(name, PIPE_V, {ref(s, name, loc)}, {w[0]}, loc);
    else
        k.issue(name, PIPE_V, {ref(s, name, loc)}, {w[0], w[1]}, loc);
    cpu_sim::add_cycles(F<typename TD::DType>::f(raw(d.host_data), raw(s.host_data), r, c));
}

template <template <class> class F, bool Row, class TD, class TV>
void expand(const char *name, TD &d, TV &v, const Loc &loc)
{
    static_assert(all_vec<TD, TV>, "PTO-ISA tile role: broadcasts take Vec tiles");
    static_assert(same_dtype<TD, TV>, "broadcasts keep the element type");
    static_assert(!col_storage<TD>, "broadcasts write a RowMajor tile");
    const auto [r, c] = flat(d, name, loc);
    if constexpr (Row)
        col_vector(v, r, name, loc);
    else
        row_vector(v, c, name, loc);
    core().issue(name, PIPE_V, {ref(v, name, loc)}, {ref(d, name, loc)}, loc);
    auto vec = Row ? column(v, r) : std::vector<typename TV::DType>(v.host_data, v.host_data + c);
    cpu_sim::add_cycles(F<typename TD::DType>::f(raw(d.host_data), raw(vec.data()), r, c));
}

template <template <class> class F, bool Row, class TD, class TS, class TV>
void expandop(const char *name, TD &d, TS &s, TV &v, const Loc &loc)
{
    static_assert(all_vec<TD, TS, TV>, "PTO-ISA tile role: broadcasts take Vec tiles");
    static_assert(same_dtype<TD, TS, TV>, "broadcasts keep the element type");
    static_assert(!col_storage<TD> && !col_storage<TS>, "broadcast operations work on RowMajor tiles");
    same_region(d, s, name, loc);
    const auto [r, c] = flat(d, name, loc);
    if constexpr (Row)
        col_vector(v, r, name, loc);
    else
        row_vector(v, c, name, loc);
    core().issue(name, PIPE_V, {ref(s, name, loc), ref(v, name, loc)}, {ref(d, name, loc)}, loc);
    auto vec = Row ? column(v, r) : std::vector<typename TV::DType>(v.host_data, v.host_data + c);
    into(d, {s.host_data},
         [&](auto *dp) { return F<typename TD::DType>::f(dp, raw(s.host_data), raw(vec.data()), r, c); });
}

template <class GT> int64_t gt_rows(const GT &g)
{
    return g.shape.v[0] * g.shape.v[1] * g.shape.v[2] * g.shape.v[3];
}

/* element (r, c) of a tile's valid region <-> GM: dims 0..2 stack (dim3 x dim4) slabs */
template <bool Load, class TileT, class GT, bool Add = false> void transfer(TileT &t, GT &g)
{
    using T = typename TileT::DType;
    const int64_t *n = g.shape.v, *s = g.stride.v;
    const int vc = t.GetValidCol();
    int row = 0;
    for (int64_t i0 = 0; i0 < n[0]; ++i0)
        for (int64_t i1 = 0; i1 < n[1]; ++i1)
            for (int64_t i2 = 0; i2 < n[2]; ++i2) {
                T *base = g.ptr + i0 * s[0] + i1 * s[1] + i2 * s[2];
                for (int64_t r = 0; r < n[3]; ++r, ++row) {
                    T *gr = base + r * s[3];
                    if constexpr (col_storage<TileT>) {
                        for (int c = 0; c < vc; ++c) {
                            T *e = t.host_data + (size_t)c * TileT::Rows + row;
                            if constexpr (Load) *e = gr[c * s[4]]; else gr[c * s[4]] = *e;
                        }
                    } else if constexpr (Load) {
                        (void)fn_tload<T>::f(raw(t.host_data + (size_t)row * TileT::Cols), raw(gr), 0, s[4], 1, vc);
                    } else if constexpr (Add) {
                        (void)fn_tstore_add<T>::f(raw(gr), raw(t.host_data + (size_t)row * TileT::Cols), 0, s[4], 1, vc);
                    } else {
                        (void)fn_tstore<T>::f(raw(gr), raw(t.host_data + (size_t)row * TileT::Cols), 0, s[4], 1, vc);
                    }
                }
            }
}

template <class TileT, class GT> void check_view(TileT &t, GT &g, const char *name, const Loc &loc)
{
    static_assert(std::is_same_v<typename TileT::DType, typename GT::DType>,
                  "PTO-ISA: TLOAD/TSTORE do not convert (tile and GlobalTensor element types differ)");
    if constexpr (TileT::Loc == TileType::Vec)
        static_assert(col_storage<TileT> ? GT::layout == Layout::DN : GT::layout == Layout::ND,
                      "PTO-ISA: a RowMajor Vec tile moves to/from an ND GlobalTensor, a ColMajor "
                      "one to/from DN");
    constexpr bool nz = TileT::BFractal == BLayout::ColMajor && TileT::SFractal == SLayout::RowMajor;
    constexpr bool zn = TileT::BFractal == BLayout::RowMajor && TileT::SFractal == SLayout::ColMajor;
    if constexpr (TileT::Loc == TileType::Mat && TileT::SFractal != SLayout::NoneBox)
        static_assert(GT::layout == Layout::DN ? zn : (GT::layout != Layout::ND || nz),
                      "PTO-ISA: a fractal Mat tile loads ND -> NZ or DN -> ZN");
    if (!g.ptr)
        core().fail(name, loc, "GlobalTensor", "the GlobalTensor has no address");
    if (gt_rows(g) != t.GetValidRow() || g.shape.v[4] != t.GetValidCol())
        core().fail(name, loc, "shape",
                    "GlobalTensor shape " + std::to_string(gt_rows(g)) + "x"
                        + std::to_string(g.shape.v[4]) + " differs from the tile's valid region "
                        + std::to_string(t.GetValidRow()) + "x" + std::to_string(t.GetValidCol()));
}

} // namespace detail

#define PTO_H_LOC std::source_location loc = std::source_location::current()

/* ---- placement -------------------------------------------------------------------------------- */
template <TileType L, class T, int R, int C, BLayout B, int RV, int CV, SLayout S, int SS, PadValue P>
void TASSIGN(Tile<L, T, R, C, B, RV, CV, S, SS, P> &t, uint64_t addr, PTO_H_LOC)
{
    using TileT = Tile<L, T, R, C, B, RV, CV, S, SS, P>;
    detail::Core &k = detail::core();
    const int level = detail::level_of<L>();
    t.host_bind = k.assign(level, addr, (uint32_t)TileT::Bytes, loc);
    t.host_data = reinterpret_cast<T *>(reinterpret_cast<unsigned char *>(k.mem[level].data()) + addr);
}
template <class T, class ShapeT, class StrideT, Layout L>
void TASSIGN(GlobalTensor<T, ShapeT, StrideT, L> &g, __gm__ T *ptr)
{
    g.ptr = ptr;
}

/* ---- memory ----------------------------------------------------------------------------------- */
template <class TileT, class GT> void TLOAD(TileT &dst, GT &src, PTO_H_LOC)
{
    static_assert(TileT::Loc == TileType::Vec || TileT::Loc == TileType::Mat,
                  "PTO-ISA tile role: TLOAD writes a Vec or Mat tile");
    detail::check_view(dst, src, "TLOAD", loc);
    detail::core().issue("TLOAD", PIPE_MTE2, {}, {detail::ref(dst, "TLOAD", loc)}, loc);
    detail::transfer<true>(dst, src);
    cpu_sim::add_cycles(pto__cost_gm(0, dst.GetValidRow(), dst.GetValidCol(),
                                     detail::Sfx<typename TileT::DType>::es));
}
/* TSTORE<TileData, GlobalData, AtomicType>: AtomicAdd adds an f32/i32 Acc tile into GM (a
 * read-modify-write of GM: it costs a TLOAD plus a TSTORE of the tile) */
template <class TileT, class GT, AtomicType Atomic = AtomicType::AtomicNone>
void TSTORE(GT &dst, TileT &src, PTO_H_LOC)
{
    static_assert(TileT::Loc == TileType::Vec || TileT::Loc == TileType::Acc || TileT::Loc == TileType::Mat,
                  "PTO-ISA tile role: TSTORE reads a Vec, Acc or Mat tile");
    constexpr bool add = Atomic == AtomicType::AtomicAdd;
    static_assert(!add || (TileT::Loc == TileType::Acc && (std::is_same_v<typename TileT::DType, float>
                                                           || std::is_same_v<typename TileT::DType, int32_t>)),
                  "TSTORE with AtomicAdd stores an f32 or i32 Acc tile here");
    detail::check_view(src, dst, "TSTORE", loc);
    const int pipe = TileT::Loc == TileType::Acc ? PIPE_FIX : PIPE_MTE3;
    detail::core().issue("TSTORE", pipe, {detail::ref(src, "TSTORE", loc)}, {}, loc);
    detail::transfer<false, TileT, GT, add>(src, dst);
    const int es = detail::Sfx<typename TileT::DType>::es;
    cpu_sim::add_cycles(pto__cost_gm(1, src.GetValidRow(), src.GetValidCol(), es)
                        + (add ? pto__cost_gm(0, src.GetValidRow(), src.GetValidCol(), es) : 0));
}

/* ---- moves ------------------------------------------------------------------------------------ */
/* TMOV Mat -> Left/Right (MTE1) or Vec -> Vec (V).  L1 -> L0 moves cost nothing here: the cost
 * models charge the cube's operand traffic in TMATMUL (docs/tile-library.md). */
namespace detail {
/* TMOV Vec->Vec iterates over dst's valid region: a dst smaller than src receives src's
 * top-left window (how a first-k column slice is written in PTO-ISA) */
template <class TD, class TS> void window_mov(TD &dst, TS &src, const Loc &loc)
{
    const int r = dst.GetValidRow(), c = dst.GetValidCol();
    if (r > src.GetValidRow() || c > src.GetValidCol())
        core().fail("TMOV", loc, "valid region", "the destination's valid region is larger than the source's");
    (void)flat(dst, "TMOV", loc);
    (void)flat(src, "TMOV", loc);
    core().issue("TMOV", PIPE_V, {ref(src, "TMOV", loc)}, {ref(dst, "TMOV", loc)}, loc);
    into(dst, {src.host_data}, [&](auto *dp) {
        return fn_textract<typename TD::DType>::f(dp, raw(src.host_data), TS::Cols, 0, 0, r, c);
    });
}
} // namespace detail

template <class TD, class TS> void TMOV(TD &dst, TS &src, PTO_H_LOC)
{
    static_assert(std::is_same_v<typename TD::DType, typename TS::DType>, "TMOV does not convert (use TCVT)");
    constexpr bool cube = TS::Loc == TileType::Mat && (TD::Loc == TileType::Left || TD::Loc == TileType::Right);
    constexpr bool vec = TS::Loc == TileType::Vec && TD::Loc == TileType::Vec;
    static_assert(cube || vec,
                  "PTO-ISA tile role: TMOV here is Mat->Left, Mat->Right or Vec->Vec (on A2/A3 the cube "
                  "and vector units are separate cores: an Acc result goes to GM by TSTORE)");
    static_assert(!vec || detail::same_storage<TD, TS>, "TMOV Vec->Vec keeps the layout");
    if constexpr (vec && !detail::col_storage<TD>) /* a smaller dst: the window at (0, 0) */
        if (dst.GetValidRow() != src.GetValidRow() || dst.GetValidCol() != src.GetValidCol())
            return detail::window_mov(dst, src, loc);
    detail::same_region(dst, src, "TMOV", loc);
    const auto [r, c] = detail::flat(dst, "TMOV", loc);
    detail::core().issue("TMOV", cube ? PIPE_MTE1 : PIPE_V, {detail::ref(src, "TMOV", loc)},
                         {detail::ref(dst, "TMOV", loc)}, loc);
    if constexpr (cube)
        std::memcpy((void *)dst.host_data, (const void *)src.host_data,
                    (size_t)r * c * sizeof(typename TD::DType));
    else
        detail::into(dst, {src.host_data}, [&](auto *dp) {
            return detail::fn_tmov<typename TD::DType>::f(dp, detail::raw(src.host_data), r, c);
        });
}

/* ---- cube --------------------------------------------------------------------------------------- */
namespace detail {
template <class TC, class TA, class TB> void matmul(const char *name, TC &c, TA &a, TB &b, bool acc, const Loc &loc)
{
    static_assert(TC::Loc == TileType::Acc && TA::Loc == TileType::Left && TB::Loc == TileType::Right,
                  "PTO-ISA tile role: TMATMUL takes (Acc, Left, Right) tiles: TLOAD to Mat, TMOV to "
                  "Left/Right, the result in an Acc tile (Non-conforming matrix fractal)");
    using A = typename TA::DType;
    using C = typename TC::DType;
    static_assert(std::is_same_v<A, typename TB::DType>
                      && ((std::is_same_v<A, int8_t> && std::is_same_v<C, int32_t>)
                          || ((std::is_same_v<A, half> || std::is_same_v<A, bfloat16_t>
                               || std::is_same_v<A, float>) && std::is_same_v<C, float>)),
                  "PTO-ISA TMATMUL dtypes (C, A, B): (i32, i8, i8), (f32, f16, f16), (f32, bf16, bf16), "
                  "(f32, f32, f32)");
    const int m = a.GetValidRow(), k = a.GetValidCol(), n = b.GetValidCol();
    if (b.GetValidRow() != k || c.GetValidRow() != m || c.GetValidCol() != n)
        core().fail(name, loc, "shape", "TMATMUL shapes do not agree: C " + std::to_string(c.GetValidRow())
                    + "x" + std::to_string(c.GetValidCol()) + ", A " + std::to_string(m) + "x"
                    + std::to_string(k) + ", B " + std::to_string(b.GetValidRow()) + "x" + std::to_string(n));
    if (k != TA::Cols || n != TB::Cols || n != TC::Cols)
        core().fail(name, loc, "valid region", "the host layer multiplies tiles whose columns are all valid");
    auto &core_ = core();
    if (acc)
        core_.issue(name, PIPE_M, {ref(a, name, loc), ref(b, name, loc), ref(c, name, loc)}, {ref(c, name, loc)}, loc);
    else
        core_.issue(name, PIPE_M, {ref(a, name, loc), ref(b, name, loc)}, {ref(c, name, loc)}, loc);
    auto *cp = raw(c.host_data);
    cpu_sim::add_cycles(acc ? fn_tmatmul_acc<A>::f(cp, raw(a.host_data), raw(b.host_data), m, k, n)
                            : fn_tmatmul<A>::f(cp, raw(a.host_data), raw(b.host_data), m, k, n));
}
} // namespace detail

template <class TC, class TA, class TB> void TMATMUL(TC &c, TA &a, TB &b, PTO_H_LOC)
{
    detail::matmul("TMATMUL", c, a, b, false, loc);
}
template <class TC, class TA, class TB> void TMATMUL_ACC(TC &c, TA &a, TB &b, PTO_H_LOC)
{
    detail::matmul("TMATMUL_ACC", c, a, b, true, loc);
}
template <class TC, class TI, class TA, class TB> void TMATMUL_ACC(TC &cout, TI &cin, TA &a, TB &b, PTO_H_LOC)
{
    static_assert(std::is_same_v<TC, TI>, "TMATMUL_ACC: Cout and Cin are the same tile type");
    if (cout.host_data != cin.host_data) { /* Cin -> Cout, then accumulate in place */
        detail::Core &k = detail::core();
        k.issue("TMATMUL_ACC", PIPE_M, {detail::ref(cin, "TMATMUL_ACC", loc)},
                {detail::ref(cout, "TMATMUL_ACC", loc)}, loc);
        std::memcpy((void *)cout.host_data, (const void *)cin.host_data, TC::Bytes);
    }
    detail::matmul("TMATMUL_ACC", cout, a, b, true, loc);
}

/* ---- vector: element-wise ------------------------------------------------------------------------ */
#define PTO_H_BIN(NAME, fn)                                                                       \
    template <class TD, class TA, class TB> void NAME(TD &dst, TA &src0, TB &src1, PTO_H_LOC)     \
    {                                                                                             \
        detail::binop<detail::fn>(#NAME, dst, src0, src1, loc);                                   \
    }
PTO_H_BIN(TADD, fn_tadd) PTO_H_BIN(TSUB, fn_tsub) PTO_H_BIN(TMUL, fn_tmul) PTO_H_BIN(TDIV, fn_tdiv)
PTO_H_BIN(TMAX, fn_tmax) PTO_H_BIN(TMIN, fn_tmin) PTO_H_BIN(TAND, fn_tand) PTO_H_BIN(TOR, fn_tor)
PTO_H_BIN(TSHL, fn_tshl) PTO_H_BIN(TSHR, fn_tshr)
#undef PTO_H_BIN
/* TXOR takes a scratch tile on A2/A3 */
template <class TD, class TA, class TB, class TT> void TXOR(TD &dst, TA &src0, TB &src1, TT &tmp, PTO_H_LOC)
{
    static_assert(TT::Loc == TileType::Vec, "TXOR: the scratch tile is a Vec tile");
    detail::core().issue("TXOR", PIPE_V, {}, {detail::ref(tmp, "TXOR", loc)}, loc);
    detail::binop<detail::fn_txor>("TXOR", dst, src0, src1, loc);
}

#define PTO_H_UN(NAME, fn)                                                                        \
    template <class TD, class TS> void NAME(TD &dst, TS &src, PTO_H_LOC)                          \
    {                                                                                             \
        detail::unop<detail::fn>(#NAME, dst, src, loc);                                           \
    }
PTO_H_UN(TEXP, fn_texp) PTO_H_UN(TLOG, fn_tlog) PTO_H_UN(TSQRT, fn_tsqrt) PTO_H_UN(TRSQRT, fn_trsqrt)
PTO_H_UN(TRECIP, fn_trecip) PTO_H_UN(TABS, fn_tabs) PTO_H_UN(TNEG, fn_tneg) PTO_H_UN(TRELU, fn_trelu)
PTO_H_UN(TNOT, fn_tnot)
#undef PTO_H_UN

#define PTO_H_SCALAR(NAME, fn)                                                                    \
    template <class TD, class TS>                                                                 \
    void NAME(TD &dst, TS &src, typename TD::DType scalar, PTO_H_LOC)                             \
    {                                                                                             \
        detail::scalarop<detail::fn>(#NAME, dst, src, scalar, false, loc);                        \
    }
PTO_H_SCALAR(TADDS, fn_tadds) PTO_H_SCALAR(TSUBS, fn_tsubs) PTO_H_SCALAR(TMULS, fn_tmuls)
PTO_H_SCALAR(TDIVS, fn_tdivs) PTO_H_SCALAR(TMAXS, fn_tmaxs) PTO_H_SCALAR(TMINS, fn_tmins)
PTO_H_SCALAR(TANDS, fn_tands) PTO_H_SCALAR(TORS, fn_tors) PTO_H_SCALAR(TXORS, fn_txors)
PTO_H_SCALAR(TSHLS, fn_tshls) PTO_H_SCALAR(TSHRS, fn_tshrs)
#undef PTO_H_SCALAR
/* TDIVS(dst, s, src) = s / src */
template <class TD, class TS> void TDIVS(TD &dst, typename TD::DType scalar, TS &src, PTO_H_LOC)
{
    detail::scalarop<detail::fn_trdivs>("TDIVS", dst, src, scalar, true, loc);
}

template <class TD> void TEXPANDS(TD &dst, typename TD::DType scalar, PTO_H_LOC)
{
    static_assert(TD::Loc == TileType::Vec, "PTO-ISA tile role: TEXPANDS fills a Vec tile");
    using T = typename TD::DType;
    const auto [r, c] = detail::flat(dst, "TEXPANDS", loc);
    detail::core().issue("TEXPANDS", PIPE_V, {}, {detail::ref(dst, "TEXPANDS", loc)}, loc);
    cpu_sim::add_cycles(detail::fn_texpands<T>::f(detail::raw(dst.host_data), detail::Sfx<T>::scalar(scalar), r, c));
}

/* ---- compare / select: masks are packed bits, 8 per byte, LSB first, one mask row per row ---- */
namespace detail {
template <class TM> void mask_shape(TM &m, int r, int c, const char *name, const Loc &loc)
{
    static_assert(TM::Loc == TileType::Vec && std::is_same_v<typename TM::DType, uint8_t>
                      && TM::BFractal == BLayout::RowMajor,
                  "a TCMP/TSEL mask is a RowMajor Vec tile of uint8_t");
    if (m.GetValidRow() < r || m.GetValidCol() * 8 < c)
        core().fail(name, loc, "shape", "the mask tile holds fewer than " + std::to_string(r) + " rows of "
                    + std::to_string(c) + " bits");
}
template <class TM> void pack(TM &m, const std::vector<uint8_t> &bytes, int r, int c)
{
    for (int i = 0; i < r; ++i) {
        uint8_t *row = m.host_data + (size_t)i * TM::Cols;
        std::memset(row, 0, (size_t)(c + 7) / 8);
        for (int j = 0; j < c; ++j)
            row[j / 8] |= (uint8_t)((bytes[(size_t)i * c + j] != 0) << (j % 8));
    }
}
template <class TM> std::vector<uint8_t> unpack(TM &m, int r, int c)
{
    std::vector<uint8_t> b((size_t)r * c);
    for (int i = 0; i < r; ++i)
        for (int j = 0; j < c; ++j)
            b[(size_t)i * c + j] = (m.host_data[(size_t)i * TM::Cols + j / 8] >> (j % 8)) & 1;
    return b;
}
} // namespace detail

template <class TM, class TA, class TB> void TCMP(TM &dst, TA &src0, TB &src1, CmpMode mode, PTO_H_LOC)
{
    static_assert(detail::all_vec<TA, TB> && detail::same_dtype<TA, TB> && detail::same_storage<TA, TB>,
                  "TCMP compares two Vec tiles of one type and layout");
    using T = typename TA::DType;
    detail::same_region(src0, src1, "TCMP", loc);
    const auto [r, c] = detail::flat(src0, "TCMP", loc);
    detail::mask_shape(dst, r, c, "TCMP", loc);
    detail::core().issue("TCMP", PIPE_V, {detail::ref(src0, "TCMP", loc), detail::ref(src1, "TCMP", loc)},
                         {detail::ref(dst, "TCMP", loc)}, loc);
    std::vector<uint8_t> bytes((size_t)r * c);
    cpu_sim::add_cycles(detail::fn_tcmp<T>::f(bytes.data(), detail::raw(src0.host_data),
                                              detail::raw(src1.host_data), (int)mode, r, c));
    detail::pack(dst, bytes, r, c);
}
template <class TM, class TS> void TCMPS(TM &dst, TS &src, typename TS::DType scalar, CmpMode mode, PTO_H_LOC)
{
    static_assert(TS::Loc == TileType::Vec && TS::BFractal == BLayout::RowMajor,
                  "PTO-ISA: TCMPS compares a RowMajor Vec tile");
    using T = typename TS::DType;
    const auto [r, c] = detail::flat(src, "TCMPS", loc);
    detail::mask_shape(dst, r, c, "TCMPS", loc);
    detail::core().issue("TCMPS", PIPE_V, {detail::ref(src, "TCMPS", loc)}, {detail::ref(dst, "TCMPS", loc)}, loc);
    std::vector<uint8_t> bytes((size_t)r * c);
    cpu_sim::add_cycles(detail::fn_tcmps<T>::f(bytes.data(), detail::raw(src.host_data),
                                               detail::Sfx<T>::scalar(scalar), (int)mode, r, c));
    detail::pack(dst, bytes, r, c);
}
template <class TD, class TM, class TA, class TB> void TSEL(TD &dst, TM &mask, TA &src0, TB &src1, PTO_H_LOC)
{
    static_assert(detail::all_vec<TD, TA, TB> && detail::same_dtype<TD, TA, TB> && detail::same_storage<TD, TA, TB>,
                  "TSEL selects between Vec tiles of one type and layout");
    using T = typename TD::DType;
    detail::same_region(dst, src0, "TSEL", loc);
    detail::same_region(dst, src1, "TSEL", loc);
    const auto [r, c] = detail::flat(dst, "TSEL", loc);
    detail::mask_shape(mask, r, c, "TSEL", loc);
    detail::core().issue("TSEL", PIPE_V, {detail::ref(mask, "TSEL", loc), detail::ref(src0, "TSEL", loc),
                         detail::ref(src1, "TSEL", loc)}, {detail::ref(dst, "TSEL", loc)}, loc);
    const std::vector<uint8_t> bytes = detail::unpack(mask, r, c);
    detail::into(dst, {src0.host_data, src1.host_data}, [&](auto *dp) {
        return detail::fn_tsel<T>::f(dp, bytes.data(), detail::raw(src0.host_data), detail::raw(src1.host_data), r, c);
    });
}

/* ---- conversion --------------------------------------------------------------------------------- */
template <class TD, class TS> void TCVT(TD &dst, TS &src, RoundMode mode, PTO_H_LOC)
{
    static_assert(detail::all_vec<TD, TS> && TD::BFractal == BLayout::RowMajor && TS::BFractal == BLayout::RowMajor,
                  "PTO-ISA: TCVT converts RowMajor Vec tiles");
    detail::same_region(dst, src, "TCVT", loc);
    const auto [r, c] = detail::flat(dst, "TCVT", loc);
    detail::core().issue("TCVT", PIPE_V, {detail::ref(src, "TCVT", loc)}, {detail::ref(dst, "TCVT", loc)}, loc);
    cpu_sim::add_cycles(detail::fn_tcvt<typename TD::DType, typename TS::DType>::f(
        detail::raw(dst.host_data), detail::raw(src.host_data), (int)mode, r, c));
}

/* ---- reductions and broadcasts ------------------------------------------------------------------ */
#define PTO_H_ROWRED(NAME, fn)                                                                    \
    template <class TD, class TS, class TT> void NAME(TD &dst, TS &src, TT &tmp, PTO_H_LOC)       \
    {                                                                                             \
        detail::rowreduce<detail::fn>(#NAME, dst, src, tmp, loc);                                 \
    }
PTO_H_ROWRED(TROWSUM, fn_trowsum) PTO_H_ROWRED(TROWMAX, fn_trowmax) PTO_H_ROWRED(TROWMIN, fn_trowmin)
#undef PTO_H_ROWRED
#define PTO_H_COLRED(NAME, fn)                                                                    \
    template <class TD, class TS> void NAME(TD &dst, TS &src, PTO_H_LOC)                          \
    {                                                                                             \
        detail::colreduce<detail::fn>(#NAME, dst, src, loc);                                      \
    }
PTO_H_COLRED(TCOLSUM, fn_tcolsum) PTO_H_COLRED(TCOLMAX, fn_tcolmax) PTO_H_COLRED(TCOLMIN, fn_tcolmin)
#undef PTO_H_COLRED
/* TCOLSUM(dst, src, tmp, isBinary): the sequential sum only (isBinary = false) */
template <class TD, class TS, class TT> void TCOLSUM(TD &dst, TS &src, TT &tmp, bool isBinary, PTO_H_LOC)
{
    if (isBinary)
        detail::core().fail("TCOLSUM", loc, "unsupported",
                            "the host layer implements the sequential column sum (isBinary = false)");
    detail::colreduce<detail::fn_tcolsum>("TCOLSUM", dst, src, loc, {detail::ref(tmp, "TCOLSUM", loc)});
}

template <class TD, class TV> void TROWEXPAND(TD &dst, TV &src, PTO_H_LOC)
{
    detail::expand<detail::fn_trowexpand, true>("TROWEXPAND", dst, src, loc);
}
template <class TD, class TV> void TCOLEXPAND(TD &dst, TV &src, PTO_H_LOC)
{
    detail::expand<detail::fn_tcolexpand, false>("TCOLEXPAND", dst, src, loc);
}
#define PTO_H_EXPOP(NAME, fn, ROW)                                                                \
    template <class TD, class TS, class TV> void NAME(TD &dst, TS &src0, TV &src1, PTO_H_LOC)     \
    {                                                                                             \
        detail::expandop<detail::fn, ROW>(#NAME, dst, src0, src1, loc);                           \
    }
PTO_H_EXPOP(TROWEXPANDADD, fn_trowexpandadd, true) PTO_H_EXPOP(TROWEXPANDSUB, fn_trowexpandsub, true)
PTO_H_EXPOP(TROWEXPANDMUL, fn_trowexpandmul, true) PTO_H_EXPOP(TROWEXPANDDIV, fn_trowexpanddiv, true)
PTO_H_EXPOP(TROWEXPANDMAX, fn_trowexpandmax, true) PTO_H_EXPOP(TROWEXPANDMIN, fn_trowexpandmin, true)
PTO_H_EXPOP(TCOLEXPANDADD, fn_tcolexpandadd, false) PTO_H_EXPOP(TCOLEXPANDSUB, fn_tcolexpandsub, false)
PTO_H_EXPOP(TCOLEXPANDMUL, fn_tcolexpandmul, false) PTO_H_EXPOP(TCOLEXPANDDIV, fn_tcolexpanddiv, false)
PTO_H_EXPOP(TCOLEXPANDMAX, fn_tcolexpandmax, false) PTO_H_EXPOP(TCOLEXPANDMIN, fn_tcolexpandmin, false)
#undef PTO_H_EXPOP

/* ---- iota and sorting: (value, index) pairs are two f32 slots, the value then the u32 index's
 * bits (PTO-ISA's packing) -------------------------------------------------------------------- */
/* TCI<TileT, T, descending>(dst, S): dst[0, k] = S + k (S - k descending) for k < valid cols */
template <class TD, class T, int descending> void TCI(TD &dst, T start, PTO_H_LOC)
{
    static_assert(TD::Loc == TileType::Vec && TD::BFractal == BLayout::RowMajor,
                  "PTO-ISA tile role: TCI fills a RowMajor Vec tile");
    static_assert(std::is_same_v<typename TD::DType, T>, "TCI: the scalar type is the tile's element type");
    static_assert(sizeof(T) == 2 || sizeof(T) == 4, "TCI: 2- or 4-byte elements");
    static_assert(TD::Cols != 1, "TCI: Cols != 1");
    const int n = dst.GetValidCol();
    detail::core().issue("TCI", PIPE_V, {}, {detail::ref(dst, "TCI", loc)}, loc);
    const T step = descending ? T(T(0) - T(1)) : T(1);
    cpu_sim::add_cycles(detail::fn_tci<T>::f(detail::raw(dst.host_data), detail::Sfx<T>::scalar(start),
                                             detail::Sfx<T>::scalar(step), 1, n));
}

namespace detail {
template <class... TT> constexpr bool sort_tiles =
    all_vec<TT...> && ((TT::BFractal == BLayout::RowMajor) && ...);
} // namespace detail

/* TSORT32(dst, src, idx[, tmp]): each 32-element block of every row of src sorted descending
 * (stable: equal values keep column order; NaN first), paired with idx, into dst [R, 2C] */
template <class TD, class TS, class TI> void TSORT32(TD &dst, TS &src, TI &idx, PTO_H_LOC)
{
    static_assert(detail::sort_tiles<TD, TS, TI>, "PTO-ISA: TSORT32 takes RowMajor Vec tiles");
    static_assert(std::is_same_v<typename TD::DType, float> && std::is_same_v<typename TS::DType, float>,
                  "the host layer's TSORT32 sorts float tiles into (f32 value, u32 index) pairs");
    static_assert(std::is_same_v<typename TI::DType, uint32_t>, "PTO-ISA: the TSORT32 index tile is uint32_t");
    const auto [r, c] = detail::flat(src, "TSORT32", loc);
    detail::same_region(src, idx, "TSORT32", loc);
    if (c % 32 || dst.GetValidRow() != r || dst.GetValidCol() != 2 * c)
        detail::core().fail("TSORT32", loc, "shape",
                            "sorts whole 32-element blocks of an R x C source into an R x 2C pair tile");
    detail::core().issue("TSORT32", PIPE_V, {detail::ref(src, "TSORT32", loc), detail::ref(idx, "TSORT32", loc)},
                         {detail::ref(dst, "TSORT32", loc)}, loc);
    detail::into(dst, {src.host_data, idx.host_data}, [&](float *dp) {
        return pto_tsort32_pairs_f32(dp, src.host_data, idx.host_data, r, c);
    });
}
template <class TD, class TS, class TI, class TT> void TSORT32(TD &dst, TS &src, TI &idx, TT &tmp, PTO_H_LOC)
{
    static_assert(TT::Loc == TileType::Vec, "TSORT32: the scratch tile is a Vec tile");
    detail::core().issue("TSORT32", PIPE_V, {}, {detail::ref(tmp, "TSORT32", loc)}, loc);
    TSORT32(dst, src, idx, loc);
}

/* TMRGSORT(dst, src, blockLen): one row of pairs holding sorted lists of blockLen floats
 * (blockLen/2 pairs); each group of 4 lists is merged descending (equal values: the earlier
 * list first).  The multi-source form (executedNumList, tmp, src0..src3) is not provided. */
template <class TD, class TS> void TMRGSORT(TD &dst, TS &src, uint32_t blockLen, PTO_H_LOC)
{
    static_assert(detail::sort_tiles<TD, TS> && TD::Rows == 1 && TS::Rows == 1,
                  "PTO-ISA: TMRGSORT takes one-row RowMajor Vec tiles");
    static_assert(std::is_same_v<typename TD::DType, float> && std::is_same_v<typename TS::DType, float>,
                  "the host layer's TMRGSORT merges (f32 value, u32 index) pairs");
    detail::same_region(dst, src, "TMRGSORT", loc);
    const int c = src.GetValidCol();
    if (blockLen == 0 || blockLen % 64 || c % (4 * blockLen) || c / (4 * blockLen) > 255)
        detail::core().fail("TMRGSORT", loc, "shape",
                            "blockLen must be a multiple of 64 and the valid columns 1 to 255 times 4 * blockLen");
    detail::core().issue("TMRGSORT", PIPE_V, {detail::ref(src, "TMRGSORT", loc)},
                         {detail::ref(dst, "TMRGSORT", loc)}, loc);
    detail::into(dst, {src.host_data}, [&](float *dp) {
        return pto_tmrgsort_f32(dp, src.host_data, (int)blockLen, c);
    });
}

#undef PTO_H_LOC
} // namespace pto

#endif /* PTO_HOST_INSTR_HPP */
