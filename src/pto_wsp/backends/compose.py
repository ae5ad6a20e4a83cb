"""Ops PTO-ISA has no instruction for, as sequences of PTO-ISA instructions.

``tanh``, ``sin`` and ``cos`` become f32 instruction sequences over scratch tiles. The C tile
library computes every element through exactly the same operations
(``runtime_c/pto_tile_compose.h``), so cpu_sim and an emitted AICore kernel agree bit for bit
and cost the same; the numerics are in docs/tile-library.md. A step is ``(instruction, dst,
operands..., attrs)``: operands name a scratch tile (``x`` is the input, ``y`` the result) or
are immediates of the instruction's tile type.
"""

from __future__ import annotations

from ..types import DType

F32, I32 = DType.F32, DType.I32
h = float.fromhex  # the constants as the C side spells them (exact f32 values)
SCRATCH = {"n": I32, "q": I32, "m": DType.BOOL}  # the others are f32 tiles

TANH = (
    ("TABS", "a", "x"),
    ("TMUL", "z", "a", "a"),
    ("TMULS", "p", "z", -h("0x1.75e1d4p-8")),  # the Cephes tanhf polynomial, |x| < 0.625
    ("TADDS", "p", "p", h("0x1.52269cp-6")),
    ("TMUL", "p", "p", "z"),
    ("TADDS", "p", "p", -h("0x1.b83c5ap-5")),
    ("TMUL", "p", "p", "z"),
    ("TADDS", "p", "p", h("0x1.110726p-3")),
    ("TMUL", "p", "p", "z"),
    ("TADDS", "p", "p", -h("0x1.555532p-2")),
    ("TMUL", "p", "z", "p"),
    ("TADDS", "p", "p", 0.0),  # -0 -> +0: x + x p keeps the sign of a zero x
    ("TMUL", "p", "x", "p"),
    ("TADD", "s", "x", "p"),
    ("TADD", "e", "a", "a"),  # 1 - 2 / (exp(2|x|) + 1), exactly +-1 once exp overflows
    ("TEXP", "e", "e"),
    ("TADDS", "e", "e", 1.0),
    ("TDIVS", "e", 2.0, "e"),  # 2 / e
    ("TADDS", "e", "e", -1.0),
    ("TNEG", "p", "e"),
    ("TCMPS", "m", "x", 0.0, {"mode": "lt"}),  # the sign of x
    ("TSEL", "e", "m", "e", "p"),
    ("TCMPS", "m", "a", 0.625, {"mode": "lt"}),
    ("TSEL", "y", "m", "s", "e"),
)


def _sincos(cos: bool) -> tuple:
    """n = rint(x 2/pi), y = x - n pi/2 (pi/2 ~ P1 + P2 + P3 with 8 + 7 + 24 bits, all
    subtracted, so x = -0 keeps its sign), the Cephes
    sinf/cosf polynomials, the quadrant by n & 1 and n & 2; finite x give [-1, 1], inf/NaN NaN."""
    return (
        ("TSUB", "d", "x", "x"),  # 0, or NaN for inf/NaN
        ("TADDS", "d", "d", 1.0),
        ("TMULS", "t", "x", h("0x1.45f306p-1")),
        ("TCVT", "n", "t", {"round": "rint"}),
        ("TCVT", "f", "n", {"round": "rint"}),
        ("TMULS", "r", "f", -h("0x1.92p+0")),
        ("TADD", "u", "x", "r"),
        ("TMULS", "r", "f", -h("0x1.fap-12")),
        ("TADD", "u", "u", "r"),
        ("TMULS", "r", "f", -h("0x1.54442ep-20")),
        ("TADD", "u", "u", "r"),
        ("TMINS", "u", "u", 16.0),  # only huge |x| get here; keeps u * u finite
        ("TMAXS", "u", "u", -16.0),
        ("TMUL", "z", "u", "u"),
        ("TMULS", "s", "z", -h("0x1.9943f2p-13")),  # sin(u) = u + u z S(z)
        ("TADDS", "s", "s", h("0x1.11073cp-7")),
        ("TMUL", "s", "s", "z"),
        ("TADDS", "s", "s", -h("0x1.555546p-3")),
        ("TMUL", "s", "s", "z"),
        ("TADDS", "s", "s", 0.0),  # -0 -> +0: u + u s keeps the sign of a zero u
        ("TMUL", "s", "s", "u"),
        ("TADD", "s", "u", "s"),
        ("TMULS", "c", "z", h("0x1.99eb9cp-16")),  # cos(u) = 1 - z/2 + z^2 C(z)
        ("TADDS", "c", "c", -h("0x1.6c0c34p-10")),
        ("TMUL", "c", "c", "z"),
        ("TADDS", "c", "c", h("0x1.55554ap-5")),
        ("TMUL", "c", "c", "z"),
        ("TMUL", "c", "c", "z"),
        ("TMULS", "r", "z", -0.5),
        ("TADD", "c", "c", "r"),
        ("TADDS", "c", "c", 1.0),
    ) + ((("TADDS", "n", "n", 1),) if cos else ()) + (  # cos x = sin(x + pi/2)
        ("TANDS", "q", "n", 1),
        ("TCMPS", "m", "q", 0, {"mode": "ne"}),
        ("TSEL", "s", "m", "c", "s"),
        ("TANDS", "q", "n", 2),
        ("TCMPS", "m", "q", 0, {"mode": "ne"}),
        ("TNEG", "c", "s"),
        ("TSEL", "s", "m", "c", "s"),
        ("TMINS", "s", "s", 1.0),
        ("TMAXS", "s", "s", -1.0),
        ("TMUL", "y", "s", "d"),
    )


COMPOSED = {"ttanh": TANH, "tsin": _sincos(False), "tcos": _sincos(True)}
