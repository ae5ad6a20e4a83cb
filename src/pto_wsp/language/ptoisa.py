"""Instruction-level kernel authoring: ``@ptoisa_kernel`` bodies call ``ptoisa.TADD(...)``.

One function per instruction of :data:`pto_wsp.ir.ops.OPS` (upper-case PTO-ISA names), each
emitting exactly that instruction: no implicit loads, broadcasting or composites. Operands are
tile values, tile parameters (``TLOAD``/``TSTORE`` only), and scalars (numbers or ``Scalar``
parameters); attributes are keyword arguments (``TCVT(x, dtype=..., round=...)``,
``TCMP(a, b, mode="lt")``, ``TEXPANDS(s, rows=, cols=, dtype=)``, ``TCI(rows=, cols=,
dtype=, start=, step=)``, ``TROWEXPAND(v, cols=)``, ``TCOLEXPAND(v, rows=)``).

    @ptoisa_kernel
    def axpy(x: In[Tile[8, 64, DType.F32]], y: InOut[Tile[8, 64, DType.F32]]):
        a = ptoisa.TLOAD(x)
        b = ptoisa.TLOAD(y)
        ptoisa.TSTORE(y, ptoisa.TADD(ptoisa.TMULS(a, 2.0), b))
"""

from __future__ import annotations

from typing import Any, Callable

from ..errors import TypeCheckError, user_location
from ..ir.nodes import ParamRef, TileType
from ..ir.ops import OPS, result_types
from ..types import DType
from .kernel import kernel
from . import hints
from .tracing import ParamValue, ScalarValue, Value, tracer

__all__ = ["ptoisa_kernel"] + sorted(op.upper() for op in OPS)


def ptoisa_kernel(fn=None, **options):
    """Like ``@kernel``; the body is written with ``ptoisa.*`` instructions."""
    return kernel(fn, **options) if fn is not None else kernel(**options)


def _instruction(opcode: str):
    spec = OPS[opcode]
    name = opcode.upper()

    def emit(*operands, **attrs):
        tr = tracer(name)
        loc = user_location()
        if len(operands) != len(spec.sig):
            raise TypeCheckError(f"{name} takes {len(spec.sig)} operands, got {len(operands)}",
                                 loc)
        missing = set(spec.attrs) - set(attrs)
        unknown = set(attrs) - set(spec.attrs)
        if missing or unknown:
            raise TypeCheckError(
                f"{name} attributes: expected {sorted(spec.attrs)}, got {sorted(attrs)}", loc)
        attrs = {k: (v.value if isinstance(v, DType) else v) for k, v in attrs.items()}
        ops, types = [], []
        for letter, o in zip(spec.sig, operands):
            if letter == "p":
                if not isinstance(o, ParamValue) or not isinstance(o.param.type, TileType):
                    raise TypeCheckError(f"{name} needs a tile parameter, got {o!r}", loc)
                ops.append(ParamRef(o.param.name))
                types.append(o.param.type)
            elif letter == "t":
                if not isinstance(o, Value):
                    raise TypeCheckError(f"{name} needs a tile value, got {o!r}", loc,
                                         hint="load parameters explicitly with TLOAD")
                ops.append(o.ref)
                types.append(o.type)
            else:
                dt = types[0].dtype if types else DType(attrs.get("dtype", "f32"))
                s = tr.scalar(o, dt, name) if not isinstance(o, ScalarValue) else o
                ops.append(s.operand)
                types.append(s.dtype)
        if opcode == "tstore":
            tr.store(operands[0], operands[1])
            return None
        if opcode == "tload":
            return tr.load_param(operands[0], explicit=True)
        got = result_types(opcode, types, attrs)
        if isinstance(got, str):
            raise TypeCheckError(got, loc)
        out = tr.emit(opcode, ops, list(got), sorted(attrs.items()), loc)
        return out[0] if len(out) == 1 else tuple(out)
    emit.__name__ = name
    emit.__doc__ = f"Emit one {name} instruction."
    return emit


for _op in OPS:
    globals()[_op.upper()] = _instruction(_op)


def __getattr__(name: str) -> Callable[..., Any]:
    """Instructions are generated above (type checkers see them through this signature);
    ``ptoisa.<unknown>``: a located error naming the nearest real instructions."""
    if name.startswith("__"):
        raise AttributeError(name)
    raise hints.unknown_op("ptoisa", name, __all__)
