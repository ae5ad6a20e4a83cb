/* pto/host/types.hpp -- element types, Tile, Shape/Stride/GlobalTensor of the pto-wsp host
 * PTO-ISA layer.  Written from the public PTO-ISA API description (docs/ascend.md); the names
 * and template parameters match it so one kernel source builds against either library. */
#ifndef PTO_HOST_TYPES_HPP
#define PTO_HOST_TYPES_HPP

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "../../pto_tile.h"

/* 16-bit floats: the bit pattern, converted with the tile library's (RNE) conversions.
 * g++ 12 has no _Float16 in C++; these keep f16/bf16 kernels bit-equal to the C tile library. */
struct half {
    uint16_t bits = 0;
    half() = default;
    half(float f) : bits(pto_f32_to_f16_bits(f)) {}
    half(double d) : bits(pto__f16_bits(pto_f64_to_f16(d))) {} /* correctly rounded */
    half(int i) : half((double)i) {}
    operator float() const { return pto_f16_bits_to_f32(bits); }
};
struct bfloat16_t {
    uint16_t bits = 0;
    bfloat16_t() = default;
    bfloat16_t(float f) : bits(pto_f32_to_bf16(f)) {}
    bfloat16_t(double d) : bits(pto_f64_to_bf16(d)) {} /* correctly rounded */
    bfloat16_t(int i) : bfloat16_t((double)i) {}
    operator float() const { return pto_bf16_to_f32(bits); }
};

#ifndef __gm__
#define __gm__
#endif
#ifndef __aicore__
#define __aicore__
#endif
#ifndef AICORE
#define AICORE
#endif
#ifndef __global__
#define __global__
#endif

namespace pto {

constexpr int DYNAMIC = -1;

enum class TileType { Vec, Mat, Left, Right, Acc, Bias };
enum class BLayout { RowMajor, ColMajor };
enum class SLayout { NoneBox, RowMajor, ColMajor };
enum class PadValue { Null, Zero, Max, Min };
enum class Layout { ND, DN, NZ };
enum class CmpMode { EQ, NE, LT, LE, GT, GE };
enum class AtomicType { AtomicNone, AtomicAdd };
enum class RoundMode { CAST_NONE, CAST_RINT, CAST_ROUND, CAST_FLOOR, CAST_CEIL, CAST_TRUNC, CAST_ODD };

namespace detail {
/* C tile library suffix of an element type: its storage type and scalar parameter */
template <class T> struct Sfx;
#define PTO_HOST_SFX(T, s, SCALAR)                                                                \
    template <> struct Sfx<T> {                                                                   \
        using C = PTO_T_##s;                                                                      \
        static constexpr int es = PTO_ES_##s;                                                     \
        static PTO_S_##s scalar(T v) { return SCALAR; }                                           \
    };
PTO_HOST_SFX(float, f32, v)
PTO_HOST_SFX(double, f64, v)
PTO_HOST_SFX(half, f16, v.bits)
PTO_HOST_SFX(bfloat16_t, bf16, (double)(float)v)
PTO_HOST_SFX(int8_t, i8, v)
PTO_HOST_SFX(int16_t, i16, v)
PTO_HOST_SFX(int32_t, i32, v)
PTO_HOST_SFX(int64_t, i64, v)
PTO_HOST_SFX(uint8_t, u8, v)
PTO_HOST_SFX(uint16_t, u16, v)
PTO_HOST_SFX(uint32_t, u32, v)
PTO_HOST_SFX(uint64_t, u64, v)
#undef PTO_HOST_SFX

template <class T> constexpr bool is_float_v =
    std::is_floating_point_v<T> || std::is_same_v<T, half> || std::is_same_v<T, bfloat16_t>;
} // namespace detail

/* Tile<Loc, Element, Rows, Cols, BFractal, RowValid, ColValid, SFractal, SFractalSize, Pad>.
 * Host storage is the logical element order of BFractal (RowMajor: r*Cols+c, ColMajor:
 * c*Rows+r), also for fractal (NZ/ZN) tiles, whose boxes only matter to the NPU's data path. */
template <TileType Loc_, typename Element_, int Rows_, int Cols_, BLayout BFractal_ = BLayout::RowMajor,
          int RowValid_ = Rows_, int ColValid_ = Cols_, SLayout SFractal_ = SLayout::NoneBox,
          int SFractalSize_ = 512, PadValue Pad_ = PadValue::Null>
struct Tile {
    using DType = Element_;
    static constexpr TileType Loc = Loc_;
    static constexpr int Rows = Rows_, Cols = Cols_;
    static constexpr int ValidRow = RowValid_, ValidCol = ColValid_;
    static constexpr BLayout BFractal = BFractal_;
    static constexpr SLayout SFractal = SFractal_;
    static constexpr int SFractalSize = SFractalSize_;
    static constexpr PadValue Pad = Pad_;
    static constexpr std::size_t Bytes = (std::size_t)Rows_ * Cols_ * sizeof(Element_);

    static_assert(Rows_ > 0 && Cols_ > 0, "Tile: Rows and Cols must be positive");
    static_assert(sizeof(detail::Sfx<Element_>) > 0, "Tile: unsupported element type");
    static_assert(SFractal_ != SLayout::NoneBox || BFractal_ != BLayout::RowMajor
                      || (Cols_ * sizeof(Element_)) % 32 == 0,
                  "PTO-ISA 32-byte row rule: a RowMajor tile needs Cols*sizeof(T) % 32 == 0 "
                  "(declare a [R,1] reduction result ColMajor, or RowMajor [R,8] with valid "
                  "column 1)");
    static_assert(SFractal_ != SLayout::NoneBox || BFractal_ != BLayout::ColMajor
                      || (Rows_ * sizeof(Element_)) % 32 == 0,
                  "PTO-ISA 32-byte row rule: a ColMajor tile needs Rows*sizeof(T) % 32 == 0");
    static_assert(SFractal_ == SLayout::NoneBox
                      || (Rows_ % 16 == 0 && (Cols_ * sizeof(Element_)) % 32 == 0),
                  "PTO-ISA fractal rule: a fractal (NZ/ZN/ZZ) tile holds whole 16 x 32-byte boxes");
    static_assert(RowValid_ == DYNAMIC || (RowValid_ >= 1 && RowValid_ <= Rows_),
                  "Tile: RowValid must be DYNAMIC or in [1, Rows]");
    static_assert(ColValid_ == DYNAMIC || (ColValid_ >= 1 && ColValid_ <= Cols_),
                  "Tile: ColValid must be DYNAMIC or in [1, Cols]");

    Tile() : vr_(RowValid_), vc_(ColValid_)
    {
        static_assert(RowValid_ != DYNAMIC && ColValid_ != DYNAMIC,
                      "Tile: a DYNAMIC valid region is given to the constructor, Tile(rows, cols)");
    }
    Tile(int valid_rows, int valid_cols)
        : vr_(RowValid_ == DYNAMIC ? valid_rows : RowValid_),
          vc_(ColValid_ == DYNAMIC ? valid_cols : ColValid_)
    {
    }
    int GetValidRow() const { return vr_; }
    int GetValidCol() const { return vc_; }

    /* host-layer state, set by TASSIGN */
    Element_ *host_data = nullptr;
    int host_bind = -1;

  private:
    int vr_, vc_;
};

template <typename T, int R, int C>
using TileLeft = Tile<TileType::Left, T, R, C, BLayout::ColMajor, R, C, SLayout::RowMajor, 512>;
template <typename T, int R, int C>
using TileRight = Tile<TileType::Right, T, R, C, BLayout::RowMajor, R, C, SLayout::ColMajor, 512>;
template <typename T, int R, int C>
using TileAcc = Tile<TileType::Acc, T, R, C, BLayout::ColMajor, R, C, SLayout::RowMajor, 1024>;

namespace detail {
/* a 5-D extent list: compile-time entries, DYNAMIC ones given to the constructor in order */
template <int... N> struct Dims {
    static_assert(sizeof...(N) == 5, "Shape and Stride are always 5-D");
    static constexpr int fixed[5] = {N...};
    static constexpr int n_dynamic = ((N == DYNAMIC) + ...);
    int64_t v[5] = {N...};
    Dims() { static_assert(n_dynamic == 0, "give the DYNAMIC entries to the constructor"); }
    template <typename... A, typename = std::enable_if_t<sizeof...(A) == n_dynamic && n_dynamic != 0>>
    Dims(A... a)
    {
        const int64_t given[] = {(int64_t)a...};
        int k = 0;
        for (int i = 0; i < 5; ++i)
            if (fixed[i] == DYNAMIC)
                v[i] = given[k++];
    }
};
} // namespace detail

template <int N1, int N2, int N3, int N4, int N5> struct Shape : detail::Dims<N1, N2, N3, N4, N5> {
    using detail::Dims<N1, N2, N3, N4, N5>::Dims;
};
template <int S1, int S2, int S3, int S4, int S5> struct Stride : detail::Dims<S1, S2, S3, S4, S5> {
    using detail::Dims<S1, S2, S3, S4, S5>::Dims;
};

/* GlobalTensor<T, Shape, Stride, Layout>: a GM view; element (i0..i4) is at sum(i_k * stride_k) */
template <typename T, typename ShapeT, typename StrideT, Layout L = Layout::ND> struct GlobalTensor {
    using DType = T;
    static constexpr Layout layout = L;
    __gm__ T *ptr = nullptr;
    ShapeT shape;
    StrideT stride;
    GlobalTensor() = default;
    explicit GlobalTensor(__gm__ T *p, ShapeT s = ShapeT(), StrideT st = StrideT())
        : ptr(p), shape(s), stride(st)
    {
    }
    __gm__ T *data() const { return ptr; }
};

} // namespace pto

#endif /* PTO_HOST_TYPES_HPP */
