"""The tile instruction set of kernel IR (PTO-ISA names, lower case) and its typing rules.

Kernels hold only these primitives; composite ``pto.*`` ops (gelu, silu, softmax pieces,
rowmean, ...) expand into them while tracing. The table drives the tracer, the verifier,
the printer/parser and the lowering, so adding an instruction is one entry here plus its C
implementation in ``runtime_c/pto_tile.h``.
"""

from __future__ import annotations

from dataclasses import dataclass

# operand signature letters: t = tile value, s = scalar operand (param or immediate),
# p = parameter reference (memory)
# result rule: see result_types() below


@dataclass(frozen=True)
class OpSpec:
    sig: str
    rule: str
    float_only: bool = False
    int_only: bool = False
    attrs: tuple[str, ...] = ()


_BIN = ("add", "sub", "mul", "div", "max", "min")
_BITS = ("and", "or", "xor", "shl", "shr")
CMP_MODES = ("eq", "ne", "lt", "le", "gt", "ge")
ROUND_MODES = ("rint", "round", "floor", "ceil", "trunc", "odd")

OPS: dict[str, OpSpec] = {
    "tload": OpSpec("p", "param"),
    "tstore": OpSpec("pt", "none"),
    "tmov": OpSpec("t", "same"),
    "texpands": OpSpec("s", "shape", attrs=("rows", "cols", "dtype")),
    "tci": OpSpec("", "shape", attrs=("rows", "cols", "dtype", "start", "step")),
    "tcvt": OpSpec("t", "convert", attrs=("dtype", "round")),
    "tcmp": OpSpec("tt", "mask", attrs=("mode",)),
    "tcmps": OpSpec("ts", "mask", attrs=("mode",)),
    "tsel": OpSpec("ttt", "select"),
    "tmatmul": OpSpec("tt", "matmul"),
    "tmatmul_acc": OpSpec("ttt", "matmul_acc"),
    "tsort32": OpSpec("tt", "sort"),
    "tmrgsort": OpSpec("t", "mrgsort", attrs=("block_len",)),
    "textract": OpSpec("t", "extract", attrs=("col", "cols", "row", "rows")),
    "tslice_even": OpSpec("t", "half_cols"),
    "tslice_odd": OpSpec("t", "half_cols"),
    "tinterleave": OpSpec("tt", "double_cols"),
    "trowexpand": OpSpec("t", "expand_row", attrs=("cols",)),
    "tcolexpand": OpSpec("t", "expand_col", attrs=("rows",)),
}
for _op in _BIN:
    OPS[f"t{_op}"] = OpSpec("tt", "same")
    OPS[f"t{_op}s"] = OpSpec("ts", "same")
    OPS[f"trowexpand{_op}"] = OpSpec("tt", "rowvec")
    OPS[f"tcolexpand{_op}"] = OpSpec("tt", "colvec")
OPS["trdivs"] = OpSpec("ts", "same")  # s / x
OPS["trsubs"] = OpSpec("ts", "same")  # s - x
for _op in _BITS:
    OPS[f"t{_op}"] = OpSpec("tt", "same", int_only=True)
    OPS[f"t{_op}s"] = OpSpec("ts", "same", int_only=True)
for _op in ("exp", "log", "sqrt", "rsqrt", "recip", "sin", "cos", "tanh"):
    OPS[f"t{_op}"] = OpSpec("t", "same", float_only=True)
for _op in ("abs", "neg", "relu"):
    OPS[f"t{_op}"] = OpSpec("t", "same")
OPS["tnot"] = OpSpec("t", "same", int_only=True)
for _op in ("sum", "max", "min"):
    OPS[f"trow{_op}"] = OpSpec("t", "row_reduce")
    OPS[f"tcol{_op}"] = OpSpec("t", "col_reduce")

# pto-wsp extensions beyond PTO-ISA (no Ascend instruction; see docs/tile-library.md)
EXTENSION_OPS = frozenset({"tsin", "tcos", "ttanh", "trdivs", "trsubs"})


def result_types(op: str, operands: list, attrs: dict):
    """Result types of ``op`` given operand types (TileType for tiles/params, else dtype of
    scalars), or a string describing why the operands are ill-typed."""
    from ..types import DType
    from .nodes import TileType
    spec = OPS[op]
    rule = spec.rule
    tiles = [t for t in operands if isinstance(t, TileType)]
    first = tiles[0] if tiles else None
    if first is not None and spec.float_only and not first.dtype.is_float:
        return f"{op} needs a floating-point tile, got {first}"
    if first is not None and spec.int_only and (first.dtype.is_float):
        return f"{op} needs an integer tile, got {first}"
    if rule == "none":
        return ()
    if rule in ("param", "same"):
        if spec.sig == "tt" and operands[0] != operands[1]:
            return f"{op} operands differ: {operands[0]} vs {operands[1]}"
        if spec.sig == "ts" and operands[1] is not first.dtype:
            return f"{op} scalar is {operands[1].value}, tile is {first.dtype.value}"
        return (first,)
    if rule == "shape":
        try:
            dt = DType(attrs["dtype"])
        except (KeyError, ValueError):
            return f"{op} needs a valid dtype attribute"
        if op == "texpands" and operands[0] is not dt:
            return f"texpands scalar is {operands[0].value}, tile is {dt.value}"
        return (TileType(int(attrs["rows"]), int(attrs["cols"]), dt),)
    if rule == "convert":
        if attrs.get("round") not in ROUND_MODES:
            return f"tcvt has an unknown round mode {attrs.get('round')!r}"
        return (TileType(first.rows, first.cols, DType(attrs["dtype"])),)
    if rule == "mask":
        if attrs.get("mode") not in CMP_MODES:
            return f"{op} has an unknown mode {attrs.get('mode')!r}"
        if op == "tcmp" and operands[0] != operands[1]:
            return f"tcmp operands differ: {operands[0]} vs {operands[1]}"
        if op == "tcmps" and operands[1] is not first.dtype:
            return f"tcmps scalar is {operands[1].value}, tile is {first.dtype.value}"
        return (TileType(first.rows, first.cols, DType.BOOL),)
    if rule == "select":
        m, a, b = operands
        if m.dtype is not DType.BOOL or a != b or (m.rows, m.cols) != (a.rows, a.cols):
            return f"tsel needs a bool mask and equal value tiles, got {m}, {a}, {b}"
        return (a,)
    if rule in ("matmul", "matmul_acc"):
        a, b = operands[-2:]
        mm = {("f32", "f32"): "f32", ("f16", "f16"): "f32", ("bf16", "bf16"): "f32",
              ("i8", "i8"): "i32"}.get((a.dtype.value, b.dtype.value))
        if mm is None or a.cols != b.rows:
            return f"{op} cannot multiply {a} by {b}"
        out = TileType(a.rows, b.cols, DType(mm))
        if rule == "matmul_acc" and operands[0] != out:
            return f"tmatmul_acc accumulator is {operands[0]}, expected {out}"
        return (out,)
    if rule == "sort":  # PTO-ISA: (f32 value, u32 index) pairs
        idx = operands[1]
        if first.dtype is not DType.F32:
            return f"tsort32 sorts f32 tiles into (value, index) pairs, got {first}"
        if first.cols % 32:
            return f"tsort32 needs a multiple of 32 columns, got {first}"
        if (idx.rows, idx.cols, idx.dtype) != (first.rows, first.cols, DType.U32):
            return f"tsort32 needs a u32 index tile of the source's shape, got {idx}"
        return (TileType(first.rows, 2 * first.cols, first.dtype),)
    if rule == "mrgsort":
        bl = attrs.get("block_len")
        if first.dtype is not DType.F32 or first.rows != 1:
            return f"tmrgsort merges one row of f32 (value, index) pairs, got {first}"
        if not isinstance(bl, int) or isinstance(bl, bool) or bl <= 0 or bl % 64:
            return f"tmrgsort block_len must be a positive multiple of 64, got {bl!r}"
        if first.cols % (4 * bl) or not 1 <= first.cols // (4 * bl) <= 255:
            return (f"tmrgsort merges groups of 4 lists of block_len {bl}: the row's "
                    f"{first.cols} columns must be 1 to 255 times {4 * bl}")
        return (first,)
    if rule == "extract":
        r0, c0, R, C = (attrs.get(k) for k in ("row", "col", "rows", "cols"))
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (r0, c0, R, C)) \
                or min(r0, c0) < 0 or min(R, C) < 1 or r0 + R > first.rows \
                or c0 + C > first.cols:
            return (f"textract window ({r0}, {c0}) of {R}x{C} does not fit in {first}")
        return (TileType(R, C, first.dtype),)
    if rule == "half_cols":
        if first.cols % 2:
            return f"{op} needs an even number of columns, got {first}"
        return (TileType(first.rows, first.cols // 2, first.dtype),)
    if rule == "double_cols":
        if operands[0] != operands[1]:
            return f"tinterleave operands differ: {operands[0]} vs {operands[1]}"
        return (TileType(first.rows, first.cols * 2, first.dtype),)
    if rule == "expand_row":
        if first.cols != 1:
            return f"trowexpand needs a [R, 1] tile, got {first}"
        return (TileType(first.rows, int(attrs["cols"]), first.dtype),)
    if rule == "expand_col":
        if first.rows != 1:
            return f"tcolexpand needs a [1, C] tile, got {first}"
        return (TileType(int(attrs["rows"]), first.cols, first.dtype),)
    if rule in ("rowvec", "colvec"):
        t, v = operands
        want = (t.rows, 1) if rule == "rowvec" else (1, t.cols)
        if (v.rows, v.cols) != want or v.dtype is not t.dtype:
            return f"{op} needs a {want[0]}x{want[1]} {t.dtype.value} vector, got {v}"
        return (t,)
    if rule == "row_reduce":
        return (TileType(first.rows, 1, first.dtype),)
    if rule == "col_reduce":
        return (TileType(1, first.cols, first.dtype),)
    raise AssertionError(rule)
