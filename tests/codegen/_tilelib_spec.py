"""Catalogue of the C tile library (runtime_c/pto_tile.h) and cffi wrapper generation for tests.

Each entry is (function name, dtype suffix, signature).  Signature letters:
``T`` tile / global pointer, ``S`` scalar of the dtype, ``i`` int, ``l`` int64_t.
"""

from __future__ import annotations

import numpy as np
import ml_dtypes

FLOATS = ("f32", "f64", "f16", "bf16")
SINTS = ("i8", "i16", "i32", "i64")
UINTS = ("u8", "u16", "u32", "u64")
INTS = SINTS + UINTS
ALL = FLOATS + INTS

NP = {
    "f32": np.float32, "f64": np.float64, "f16": np.float16, "bf16": ml_dtypes.bfloat16,
    "i8": np.int8, "i16": np.int16, "i32": np.int32, "i64": np.int64,
    "u8": np.uint8, "u16": np.uint16, "u32": np.uint32, "u64": np.uint64,
}
ESIZE = {k: np.dtype(v).itemsize for k, v in NP.items()}

BINARY = ("tadd", "tsub", "tmul", "tdiv", "tmax", "tmin", "trem")
BITWISE = ("tand", "tor", "txor", "tshl", "tshr")
TRANSC = ("texp", "tlog", "tsqrt", "trsqrt", "trecip", "tsin", "tcos", "ttanh")
EXPAND_OPS = ("add", "sub", "mul", "div", "max", "min")
MATMUL = ("f32", "f16", "bf16", "i8")


def catalogue():
    """Every (name, sfx, sig) the library defines."""
    out = []

    def add(names, sfxs, sig):
        for n in names:
            for s in sfxs:
                out.append((f"pto_{n}_{s}", s, sig))

    add(("tload", "tstore"), ALL, "TTllii")
    add(BINARY, ALL, "TTTii")
    add(BITWISE, INTS, "TTTii")
    add([b + "s" for b in BINARY], ALL, "TTSii")
    add([b + "s" for b in BITWISE], INTS, "TTSii")
    add(("trsubs", "trdivs"), ALL, "TSTii")
    add(TRANSC, FLOATS, "TTii")
    add(("tabs", "trelu"), ALL, "TTii")
    add(("tneg",), ALL, "TTii")
    add(("tnot",), INTS, "TTii")
    add(("tcmp",), ALL, "TTTiii")
    add(("tcmps",), ALL, "TTSiii")
    add(("tsel",), ALL, "TTTTii")
    add(("tsels",), ALL, "TTTSii")
    add(("texpands",), ALL, "TSii")
    add(("tci",), ALL, "TSSii")
    add(("tmov", "tslice_even", "tslice_odd"), ALL, "TTii")
    add(("tinterleave",), ALL, "TTTii")
    add(("trowsum", "trowmax", "trowmin", "tcolsum", "tcolmax", "tcolmin"), ALL, "TTii")
    add(("trowexpand", "tcolexpand"), ALL, "TTii")
    add([f"trowexpand{o}" for o in EXPAND_OPS] + [f"tcolexpand{o}" for o in EXPAND_OPS], ALL,
        "TTTii")
    add(("tsort32",), ALL, "TTTTii")
    add(("tmatmul", "tmatmul_acc"), MATMUL, "TTTiii")
    add(("tmatmul_ld", "tmatmul_acc_ld"), ("f32",), "TTlTliii")
    for d in ALL:
        for s in ALL:
            out.append((f"pto_tcvt_{d}_{s}", s, "TTiii"))
    for s in ALL:
        out.append((f"pto_tcvt_bool_{s}", s, "TTiii"))
    out.append(("pto_tnot_bool", "u8", "TTii"))
    return out


_SCALAR_CAST = {"f32": "float", "f64": "double", "f16": "_Float16", "bf16": "double",
                "i8": "int8_t", "i16": "int16_t", "i32": "int32_t", "i64": "int64_t",
                "u8": "uint8_t", "u16": "uint16_t", "u32": "uint32_t", "u64": "uint64_t"}

CDEF = """
uint64_t tl_call(int id, void *const *p, const double *f, const int64_t *q);
int tl_count(void);
"""


def wrappers(entries) -> tuple[str, str, dict]:
    """(cdef, C source, {name: id}) of a dispatch table over the given entries.

    One exported function ``tl_call(id, p, f, q)`` keeps the cffi module small (cffi's
    per-function Python glue is what makes a module with ~900 functions slow to compile).
    Argument k of the library function comes from ``p[k]`` (pointers), ``f[k]`` (float
    scalars) or ``q[k]`` (integers, unsigned ones as their two's-complement bits).
    """
    defs, ids = [], {}
    for idx, (name, sfx, sig) in enumerate(entries):
        args = []
        for k, ch in enumerate(sig):
            if ch == "T":
                args.append(f"p[{k}]")
            elif ch == "S":
                src = f"f[{k}]" if sfx in FLOATS else f"q[{k}]"
                args.append(f"({_SCALAR_CAST[sfx]}){src}")
            elif ch == "i":
                args.append(f"(int)q[{k}]")
            else:
                args.append(f"q[{k}]")
        defs.append(f"static uint64_t w{idx}(void *const *p, const double *f, const int64_t *q)"
                    f" {{ (void)f; (void)q; return {name}({', '.join(args)}); }}")
        ids[name] = idx
    table = ",".join(f"w{i}" for i in range(len(entries)))
    src = ('#include "pto_tile.h"\n' + "\n".join(defs)
           + "\ntypedef uint64_t (*tl_fn)(void *const *, const double *, const int64_t *);"
           + f"\nstatic const tl_fn tl_table[] = {{{table}}};"
           + f"\nint tl_count(void) {{ return {len(entries)}; }}"
           + "\nuint64_t tl_call(int id, void *const *p, const double *f, const int64_t *q)"
           + " { return tl_table[id](p, f, q); }\n")
    return CDEF, src, ids
