"""Top-k of each row (the spec's Path A custom kernel): the k largest scores with their column
indices, as PTO-ISA produces them: (value, index) pairs, the f32 value then the u32 index's bits.

Two kernels do the same instructions: ``topk_cpp``, C++ written by hand against PTO-ISA
(``TCI`` index iota, ``TSORT32`` sorting 32-element blocks into pairs, ``TMRGSORT`` merging
the four sorted blocks, a ``TMOV`` into a [1, 2k] tile taking the first k pairs), and
``topk_traced``, the same with ``pto.*``. Both run in cpu_sim (the C++ one on pto-wsp's host
PTO-ISA layer) with bit-equal results and cycles, checked against numpy's stable argsort:
equal scores keep column order (lower index first).
"""

import numpy as np

from pto_wsp import DType, Dense, In, Out, P, Tensor, Tile, kernel, pto, workload

N, K = 128, 8  # scores per row, results per row
F32, U32 = DType.F32, DType.U32

TOPK_CPP = f"""
using Row = Tile<TileType::Vec, float, 1, {N}>;
using Idx = Tile<TileType::Vec, uint32_t, 1, {N}>;
using Pairs = Tile<TileType::Vec, float, 1, {2 * N}>;
using Top = Tile<TileType::Vec, float, 1, {2 * K}>;
GlobalTensor<float, Shape<1, 1, 1, 1, {N}>, Stride<1, 1, 1, DYNAMIC, 1>> gx(
    x, {{}}, Stride<1, 1, 1, DYNAMIC, 1>(pto_rs_x));
GlobalTensor<float, Shape<1, 1, 1, 1, {2 * K}>, Stride<1, 1, 1, DYNAMIC, 1>> gout(
    out, {{}}, Stride<1, 1, 1, DYNAMIC, 1>(pto_rs_out));
Row scores;
Idx index;
Pairs sorted, merged;
Top top;
TASSIGN(scores, 0x0);
TASSIGN(index, 0x200);
TASSIGN(sorted, 0x400);
TASSIGN(merged, 0x800);
TASSIGN(top, 0xC00);
TLOAD(scores, gx);
TCI<Idx, uint32_t, 0>(index, 0);           // 0, 1, ..., N-1
set_flag(PIPE_MTE2, PIPE_V, EVENT_ID0);
wait_flag(PIPE_MTE2, PIPE_V, EVENT_ID0);
TSORT32(sorted, scores, index);            // 4 blocks of 32 pairs, each descending
TMRGSORT(merged, sorted, 64);              // blockLen 64 floats = 32 pairs: one list of N
TMOV(top, merged);                         // the first K pairs
set_flag(PIPE_V, PIPE_MTE3, EVENT_ID0);
wait_flag(PIPE_V, PIPE_MTE3, EVENT_ID0);
TSTORE(gout, top);
"""


@kernel(cpp_src=TOPK_CPP, cpp_includes=["pto/pto-inst.hpp"])
def topk_cpp(x: In[Tile[1, N, F32]], out: Out[Tile[1, 2 * K, F32]]):
    """Top-k pairs of one row: C++ against PTO-ISA."""


@kernel
def topk_traced(x: In[Tile[1, N, F32]], out: Out[Tile[1, 2 * K, F32]]):
    """Top-k pairs of one row: the same instructions traced with pto.*."""
    pairs = pto.sort32(x, pto.iota((1, N), U32))
    pto.store(out, pto.extract(pto.mrgsort(pairs, block_len=64), 1, 2 * K))


def build(kern, X: np.ndarray, Y: np.ndarray):
    """One task per row: Y[r] = the top-K (value, index) pairs of X[r]."""
    TX, TY = Tensor(data=X, name="X"), Tensor(data=Y, name="Y")

    @workload
    def topk():
        for r in P(Dense[X.shape[0]]):
            kern[r](x=TX[r:r + 1], out=TY[r:r + 1])
    return topk()


def unpack(Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """PTO-ISA pairs -> (values, indices)."""
    return Y[:, 0::2], Y.view(np.uint32)[:, 1::2].astype(np.int64)


def main(rows: int = 64) -> None:
    rng = np.random.default_rng(0)
    X = rng.integers(0, 50, (rows, N)).astype(np.float32)  # integers: many ties
    order = np.argsort(-X, axis=1, kind="stable")[:, :K]
    results = []
    for kern in (topk_cpp, topk_traced):
        Y = np.zeros((rows, 2 * K), np.float32)
        s = build(kern, X, Y).compile(target="cpu_sim").run()
        values, indices = unpack(Y)
        print(f"topk {kern.name} {rows}x{N} k={K}: tasks={s.task_count} "
              f"total_cycles={s.total_cycles} compile={s.compile_time_ms:.0f}ms")
        np.testing.assert_array_equal(indices, order)
        np.testing.assert_array_equal(values, np.take_along_axis(X, order, axis=1))
        results.append((Y, s.total_cycles))
    (a, ca), (b, cb) = results
    assert np.array_equal(a.view(np.uint32), b.view(np.uint32)) and ca == cb


if __name__ == "__main__":
    main()
