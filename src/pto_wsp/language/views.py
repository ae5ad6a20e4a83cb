"""Tensor views: ``T[b]``, ``T[b][h]``, ``T[b, h]``, ``T[2:6]``, ``T[i * 2 + 1]``.

A view knows its base tensor, the index/slice items applied to its leading dimensions, its
static shape, and its element strides (from the array's real strides, so transposed and
strided numpy views work).
"""

from __future__ import annotations

from ..errors import TypeCheckError, user_location
from ..ir import expr as irx
from ..ir.nodes import Index, Slice
from ..types import Tensor, no_value_error
from .scalar import Expr, as_expr


class View:
    def __init__(self, tensor, items: tuple, loc):
        self.tensor = tensor
        self.items = items
        self.loc = loc

    @staticmethod
    def of(tensor, loc=None) -> "View":
        return View(tensor, (), loc)

    @property
    def shape(self) -> tuple[int, ...]:
        dims = list(self.tensor.shape)
        out = []
        for i, item in enumerate(self.items):
            if isinstance(item, Slice):
                out.append(item.size)
        out += dims[len(self.items):]
        return tuple(out)

    @property
    def dtype(self):
        return self.tensor.dtype

    @property
    def offsets(self) -> tuple:
        """Start index of the view in every dimension of the base tensor (an int or a
        scalar expression of loop variables)."""
        out = []
        for it in self.items:
            e = it.expr if isinstance(it, Index) else it.start
            c = irx.const_value(e)
            out.append(c if c is not None else Expr(e))
        return tuple(out) + (0,) * (len(self.tensor.shape) - len(self.items))

    def strides(self) -> tuple[int, ...]:
        """Element strides of the view's kept dimensions."""
        base = tensor_strides(self.tensor)
        out = [base[i] * it.step for i, it in enumerate(self.items) if isinstance(it, Slice)]
        return tuple(out + list(base[len(self.items):]))

    def __getitem__(self, idx) -> "View":
        loc = user_location()
        idx = idx if isinstance(idx, tuple) else (idx,)
        # Items cover the tensor's leading dimensions in order. Like numpy, a raw index
        # addresses the view's next *kept* dimension: a sliced one (composing with the
        # slice), else the next whole dimension. So T[a][b] == T[a, b] and T[2:6][1] == T[3].
        items = list(self.items)
        kept = 0
        for raw in idx:
            slices = [i for i, it in enumerate(items) if isinstance(it, Slice)]
            if kept < len(slices):
                pos = slices[kept]
                items[pos] = _compose(items[pos], _item(raw, items[pos].size, loc), loc)
            elif len(items) < len(self.tensor.shape):
                pos = len(items)
                items.append(_item(raw, self.tensor.shape[pos], loc))
            else:
                raise TypeCheckError(f"too many indices for a view of shape {self.shape}", loc)
            kept += isinstance(items[pos], Slice)
        return View(self.tensor, tuple(items), loc)

    def __repr__(self) -> str:
        return f"View({self.tensor!r}, items={len(self.items)}, shape={self.shape})"

    __hash__ = object.__hash__

    def _no_value(self, *_):
        raise no_value_error("a tensor view")

    __bool__ = __lt__ = __le__ = __gt__ = __ge__ = __eq__ = __ne__ = _no_value


Tensor.view_of = lambda tensor, idx: View.of(tensor, tensor.loc)[idx]


def _item(raw, extent: int, loc):
    if isinstance(raw, slice):
        start = 0 if raw.start is None else raw.start
        stop = extent if raw.stop is None else raw.stop
        step = 1 if raw.step is None else raw.step
        if not isinstance(step, int) or step <= 0:
            raise TypeCheckError(f"slice step must be a positive int, got {step!r}", loc)
        s_node, e_node = as_expr(start, loc), as_expr(stop, loc)
        diff = irx.affine(irx.Binary("sub", e_node, s_node))
        if diff is None or set(diff) - {""}:
            raise TypeCheckError("a slice must have a static length", loc,
                                 hint="write T[i * 4 : i * 4 + 4] (stop - start is constant)")
        length = diff.get("", 0)
        size = max(0, -(-length // step))
        if size == 0:
            raise TypeCheckError("empty slice", loc)
        c = irx.const_value(s_node)
        if c is not None and (c < 0 or c + (size - 1) * step >= extent):
            raise TypeCheckError(f"slice {c}:{c + length} is out of bounds for a dimension of "
                                 f"size {extent}", loc)
        return Slice(s_node, size, step)
    if isinstance(raw, (Expr, int)) and not isinstance(raw, bool):
        node = as_expr(raw, loc)
        irx.check_int(node, "a tensor index")
        c = irx.const_value(node)
        if c is not None and not 0 <= c < extent:
            raise TypeCheckError(f"index {c} is out of bounds for a dimension of size {extent}",
                                 loc)
        return Index(node)
    raise TypeCheckError(f"cannot index a tensor with {type(raw).__name__} {raw!r}", loc,
                         hint="use ints, loop variables, affine expressions or slices")


def _compose(outer: Slice, inner, loc):
    """Apply ``inner`` (an Index or Slice relative to ``outer``) to the slice ``outer``."""
    def at(e):
        scaled = e if outer.step == 1 else irx.Binary("mul", e, irx.Const(outer.step), loc)
        pos = irx.Binary("add", outer.start, scaled, loc)
        c = irx.const_value(pos)
        return irx.Const(c, loc=loc) if c is not None else pos
    if isinstance(inner, Index):
        return Index(at(inner.expr))
    return Slice(at(inner.start), inner.size, inner.step * outer.step)


def tensor_strides(tensor) -> tuple[int, ...]:
    """Element strides of a tensor: its array's strides, else row-major."""
    if tensor.data is not None:
        item = tensor.data.itemsize
        return tuple(s // item for s in tensor.data.strides)
    out, acc = [], 1
    for d in reversed(tensor.shape):
        out.append(acc)
        acc *= d
    return tuple(reversed(out))
