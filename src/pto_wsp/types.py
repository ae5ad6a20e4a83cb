"""Element types, memory locations, iteration axes and tensors (spec section 2)."""

from __future__ import annotations

import itertools
from enum import Enum
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Sequence, cast

import ml_dtypes
import numpy as np
import numpy.typing as npt

from .errors import TypeCheckError, user_location

INT64_MAX = 2**63 - 1

__all__ = ["DType", "Location", "Axis", "Dense", "DenseDyn", "Ragged", "Sparse", "Tensor",
           "validate_axis_index"]


class DType(Enum):
    """Element types. ``BOOL`` (one byte, 0/1) is the result type of comparisons."""

    F16 = "f16"
    BF16 = "bf16"
    F32 = "f32"
    F64 = "f64"
    I8 = "i8"
    I16 = "i16"
    I32 = "i32"
    I64 = "i64"
    U8 = "u8"
    U16 = "u16"
    U32 = "u32"
    U64 = "u64"
    BOOL = "bool"

    @property
    def np(self) -> np.dtype:
        return _NP[self]

    @property
    def itemsize(self) -> int:
        return _NP[self].itemsize

    @property
    def is_float(self) -> bool:
        return self in (DType.F16, DType.BF16, DType.F32, DType.F64)

    @property
    def is_int(self) -> bool:
        return not self.is_float and self is not DType.BOOL

    @property
    def is_signed(self) -> bool:
        return self.is_float or self.value.startswith("i")

    @property
    def c_type(self) -> str:
        return _C[self]

    @staticmethod
    def of(x: Any) -> "DType":
        """The DType of a numpy dtype, a DType or its text (``"f32"``)."""
        if isinstance(x, DType):
            return x
        if isinstance(x, str):
            try:
                return DType(x)
            except ValueError:
                pass
        try:
            return _FROM_NP[np.dtype(x)]
        except (TypeError, KeyError):
            raise TypeCheckError(f"unsupported dtype {x!r}", user_location(),
                                 hint="use one of " + ", ".join(d.value for d in DType)) from None

    def __str__(self) -> str:
        return self.value


_NP = {
    DType.F16: np.dtype(np.float16), DType.BF16: np.dtype(ml_dtypes.bfloat16),
    DType.F32: np.dtype(np.float32), DType.F64: np.dtype(np.float64),
    DType.I8: np.dtype(np.int8), DType.I16: np.dtype(np.int16), DType.I32: np.dtype(np.int32),
    DType.I64: np.dtype(np.int64), DType.U8: np.dtype(np.uint8), DType.U16: np.dtype(np.uint16),
    DType.U32: np.dtype(np.uint32), DType.U64: np.dtype(np.uint64), DType.BOOL: np.dtype(np.bool_),
}
_FROM_NP = {v: k for k, v in _NP.items()}
_C = {
    DType.F16: "_Float16", DType.BF16: "uint16_t", DType.F32: "float", DType.F64: "double",
    DType.I8: "int8_t", DType.I16: "int16_t", DType.I32: "int32_t", DType.I64: "int64_t",
    DType.U8: "uint8_t", DType.U16: "uint16_t", DType.U32: "uint32_t", DType.U64: "uint64_t",
    DType.BOOL: "uint8_t",
}


class Location(Enum):
    """Memory level a tensor lives in."""

    Global = "global"
    L2 = "l2"
    UB = "ub"
    L1 = "l1"


# ---------------------------------------------------------------- axes

_axis_ids = itertools.count()


class Axis:
    """An iteration space. Subclasses: Dense, DenseDyn, Ragged, Sparse.

    ``name`` is the user's name if given; otherwise the workload names it after the
    parameter or variable it was bound to.
    """

    kind = "axis"
    #: ``ragged[b]`` / ``sparse[b]`` (a row), installed by the authoring layer
    #: (:mod:`pto_wsp.language.scalar`: ``AxisRow``) so that this floor module does not import it
    row_of: ClassVar[Callable[..., Any]]

    def __init__(self, name: str | None = None):
        self.name = name
        self.loc = user_location()
        self._uid = next(_axis_ids)

    def __iter__(self):
        raise TypeCheckError("iterate an axis with a loop constructor, not directly",
                             user_location(), hint="write `for i in P(axis):`")


class _DenseMeta(type):
    def __getitem__(cls, n: int) -> "DenseAxis":
        return cls(n)


class DenseAxis(Axis, metaclass=_DenseMeta):
    """Static-size axis, spelled ``Dense[8]`` or ``Dense[8]()`` (both give an axis of size 8)."""

    kind = "dense"

    def __init__(self, size: int, name: str | None = None):
        super().__init__(name)
        if not isinstance(size, (int, np.integer)) or isinstance(size, bool) or size < 0:
            raise TypeCheckError(f"Dense size must be a non-negative int, got {size!r}", self.loc)
        self.size = int(size)

    def __call__(self, name: str | None = None) -> "DenseAxis":
        if name is not None:
            self.name = name
        return self

    def __repr__(self) -> str:
        return f"Dense[{self.size}]"


if TYPE_CHECKING:
    class _DenseSpelling:
        """What type checkers see: ``Dense[n]`` is a value (an axis), not a generic type."""

        def __getitem__(self, size: int) -> DenseAxis: ...
        def __call__(self, size: int, name: str | None = None) -> DenseAxis: ...

    Dense: _DenseSpelling
else:
    Dense = DenseAxis


class DenseDyn(Axis):
    """Axis whose size is a runtime input (``program.set_axis_sizes`` changes it, no rebuild)."""

    kind = "dense_dyn"

    def __new__(cls, size=0, name: str | None = None):
        axis = getattr(size, "intvar_axis", None)  # DenseDyn(IntVar): the IntVar's axis
        return axis if axis is not None else super().__new__(cls)

    def __init__(self, size: int, name: str | None = None):
        if getattr(size, "intvar_axis", None) is self:
            if name is not None and name != self.name:
                raise TypeCheckError(f"DenseDyn of IntVar '{self.name}' is named after it",
                                     user_location(), hint="leave out name=")
            return
        super().__init__(name)
        if not isinstance(size, (int, np.integer)) or isinstance(size, bool) or size < 0:
            raise TypeCheckError(f"DenseDyn size must be a non-negative int, got {size!r}",
                                 self.loc)
        self.size = int(size)

    def __repr__(self) -> str:
        return f"DenseDyn({self.size})"


def as_array(data, what: str, loc) -> np.ndarray:
    """``data`` as a numpy array over the same memory: a numpy array, or any array that speaks
    DLPack (torch CPU tensors, JAX CPU arrays, ...), the buffer protocol or the numpy array
    interface. Never a copy: results written through it land in the caller's memory."""
    if isinstance(data, np.ndarray):
        return data
    try:
        if hasattr(data, "__dlpack__"):
            return np.from_dlpack(data)
        if hasattr(data, "__array_interface__") or hasattr(data, "__array_struct__"):
            arr = np.asarray(data)
        else:
            arr = np.asarray(memoryview(data))
    except (TypeError, ValueError, BufferError, RuntimeError) as e:
        raise TypeCheckError(f"{what} cannot be used in place ({type(data).__name__}: {e})",
                             loc, hint="pass a numpy array, or a CPU array that supports DLPack "
                                       "or the buffer protocol (bf16 through DLPack: view it as "
                                       "int16 and the numpy array as ml_dtypes.bfloat16)") from None
    if arr.dtype == object:
        raise TypeCheckError(f"{what} must be an array of numbers, got {type(data).__name__}",
                             loc, hint="pass a numpy array (lists would be copied, so results "
                                       "could not land in them)")
    return arr


def no_value_error(what: str) -> TypeCheckError:
    """Data (a tensor, a view) used as a Python value while a workload is traced."""
    return TypeCheckError(
        f"{what} has no value while the workload is traced: its data exists only when the "
        "program runs", user_location(),
        hint="to branch on data, load one element into a slot first: "
             "slot_load_u64(0, view, row, col), then P.when(slot_u64(0) <= 2048); "
             "to branch on a ragged row's size, use P.when(lengths[b].size() <= 2048)")


def validate_axis_index(axis: Axis, index: int) -> None:
    """Raise a located :class:`AxisIndexError` unless ``index`` is in ``axis`` (its outer size
    for ragged and sparse axes; a DenseDyn's current size)."""
    from .errors import AxisIndexError
    loc = user_location()
    if not isinstance(axis, Axis):
        raise TypeCheckError(f"validate_axis_index takes an axis, got {axis!r}", loc)
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
        raise AxisIndexError(f"an axis index must be an int, got {index!r}", loc)
    size = axis.outer_size if isinstance(axis, _Rowed) else cast("DenseAxis | DenseDyn", axis).size
    if not 0 <= index < size:
        raise AxisIndexError(f"index {index} is outside {axis!r} (valid: 0..{size - 1})", loc)


def index_array(values, what: str, loc) -> np.ndarray:
    """``values`` as a 1-D int64 array of integers in [0, 2**63), else a located TypeCheckError
    (floats are never truncated, big values never wrapped)."""
    arr = np.asarray(values)
    if arr.dtype.kind == "O" and arr.ndim == 1 and all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in arr):
        lo, hi = (min(arr), max(arr)) if arr.size else (0, 0)  # Python ints beyond int64
    elif arr.ndim == 1 and (arr.size == 0 or arr.dtype.kind in "iu"):
        lo, hi = (int(arr.min()), int(arr.max())) if arr.size else (0, 0)
    else:
        text = repr(values)
        raise TypeCheckError(f"{what} must be a 1-D list of integers, got "
                             f"{text if len(text) <= 60 else text[:57] + '...'}", loc)
    if lo < 0:
        raise TypeCheckError(f"{what} must be non-negative, got {lo}", loc)
    if hi > INT64_MAX:
        raise TypeCheckError(f"{what} must be below 2**63, got {hi}", loc)
    return arr.astype(np.int64)


class _Rowed(Axis):
    """Axis with one row of inner iterations per outer index (indexed as ``axis[b]``)."""

    def __init__(self, outer: int | Axis, name: str | None):
        super().__init__(name)
        self.outer_axis: DenseAxis | DenseDyn | None
        if isinstance(outer, Axis):
            if not isinstance(outer, (DenseAxis, DenseDyn)):
                raise TypeCheckError("the outer axis of a ragged/sparse axis must be dense",
                                     self.loc)
            self.outer_axis, self.outer_size = outer, outer.size
        elif isinstance(outer, (int, np.integer)) and outer >= 0:
            self.outer_axis, self.outer_size = None, int(outer)
        else:
            raise TypeCheckError(f"outer size must be an int or an axis, got {outer!r}", self.loc)

    def __getitem__(self, outer_index: Any) -> Any:
        return Axis.row_of(self, outer_index, user_location())


class Ragged(_Rowed):
    """Variable number of inner iterations per outer index: ``lengths[i]``."""

    kind = "ragged"

    def __init__(self, outer: int | Axis, lengths: npt.ArrayLike, name: str | None = None):
        super().__init__(outer, name)
        self.lengths = index_array(lengths, "Ragged lengths", self.loc)
        if self.lengths.size != self.outer_size:
            raise TypeCheckError(
                f"Ragged has outer size {self.outer_size} but {self.lengths.size} lengths",
                self.loc)

    def length(self, idx: int) -> int:
        return int(self.lengths[idx])

    def total(self) -> int:
        return int(self.lengths.sum())

    def __repr__(self) -> str:
        return f"Ragged({self.outer_size}, {self.lengths.tolist()})"


class Sparse(_Rowed):
    """CSR iteration: row ``i`` visits ``indices[indptr[i]:indptr[i+1]]``."""

    kind = "sparse"

    def __init__(self, outer: int | Axis, indptr: npt.ArrayLike, indices: npt.ArrayLike,
                 name: str | None = None):
        super().__init__(outer, name)
        self.indptr = index_array(indptr, "Sparse indptr", self.loc)
        self.indices = index_array(indices, "Sparse indices", self.loc)
        check_csr(self.outer_size, self.indptr, self.indices, self.loc)

    def nnz(self) -> int:
        return int(self.indices.size)

    def row_nnz(self, row: int) -> int:
        return int(self.indptr[row + 1] - self.indptr[row])

    def __repr__(self) -> str:
        return f"Sparse({self.outer_size}, {self.indptr.tolist()}, {self.indices.tolist()})"


def check_csr(outer: int, indptr: np.ndarray, indices: np.ndarray, loc=None) -> None:
    """Raise a TypeCheckError unless (indptr, indices) is a valid CSR structure."""
    if indptr.size != outer + 1:
        raise TypeCheckError(f"Sparse indptr must have outer+1 = {outer + 1} entries, "
                             f"got {indptr.size}", loc)
    if indptr.size and (indptr[0] != 0 or np.any(np.diff(indptr) < 0)):
        raise TypeCheckError("Sparse indptr must start at 0 and be non-decreasing", loc)
    if indptr.size and indptr[-1] != indices.size:
        raise TypeCheckError(f"Sparse indptr ends at {indptr[-1]} but there are "
                             f"{indices.size} indices", loc)


# ---------------------------------------------------------------- tensors

class TensorShape:
    """``Tensor[rows, cols, dtype]`` in a kernel signature: a 2-D view of that static shape
    (docs/kernels.md); the kernel loads and stores tiles of it at computed offsets."""

    def __init__(self, spec, loc):
        if not isinstance(spec, tuple) or len(spec) != 3:
            raise TypeCheckError(f"Tensor takes [rows, cols, dtype] in a kernel signature, got "
                                 f"{spec!r}", loc)
        r, c, dt = spec
        if not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in (r, c)):
            raise TypeCheckError(f"Tensor rows/cols must be positive ints, got {r!r}, {c!r}",
                                 loc)
        self.rows, self.cols, self.dtype = r, c, DType.of(dt)


class Tensor:
    """A named n-D array: shape, dtype, location, layout, and (optionally) numpy data.

    ``data`` may be any numpy array view (transposed and strided views included); it is
    passed to compiled programs zero-copy. Index it with loop variables to make views:
    ``T[b]``, ``T[b][h]``, ``T[b, h]``, ``T[2:6]``, ``T[i * 2 + 1]``.
    """

    def __class_getitem__(cls, spec) -> TensorShape:
        return TensorShape(spec, user_location())

    def __init__(self, data: Any = None, shape: Sequence[int] | None = None, dtype: Any = None,
                 location: Location = Location.Global, layout: Any = None,
                 name: str | None = None):
        self.loc = user_location()
        if data is not None:
            data = as_array(data, "Tensor data", self.loc)
        if shape is None:
            if data is None:
                raise TypeCheckError("Tensor needs a shape or data", self.loc)
            shape = data.shape
        shape = tuple(int(s) for s in shape)
        if any(s < 0 for s in shape) or not shape:
            raise TypeCheckError(f"bad Tensor shape {shape}", self.loc)
        if dtype is None:
            if data is None:
                raise TypeCheckError("Tensor needs a dtype or data", self.loc)
            dtype = DType.of(data.dtype)
        dtype = DType.of(dtype)
        if data is not None:
            if data.shape != shape:
                raise TypeCheckError(f"Tensor data has shape {data.shape}, declared {shape}",
                                     self.loc, hint="pass shape=data.shape or reshape the array")
            if data.dtype != dtype.np:
                raise TypeCheckError(
                    f"Tensor data has dtype {data.dtype}, declared {dtype.value}", self.loc,
                    hint=f"use data.astype({dtype.np.name}) or declare dtype=DType.{dtype.name}")
        if not isinstance(location, Location):
            raise TypeCheckError(f"location must be a Location, got {location!r}", self.loc)
        self.data = data
        self.shape = shape
        self.dtype = dtype
        self.location = location
        self.layout = _check_layout(layout, shape, self.loc, data)
        self.name = name

    @property
    def rank(self) -> int:
        return len(self.shape)

    def nbytes(self) -> int:
        return int(np.prod(self.shape)) * self.dtype.itemsize

    #: ``tensor[idx]`` (a view), installed by :mod:`pto_wsp.language.views`
    view_of: ClassVar[Callable[[Tensor, Any], Any]]

    def __getitem__(self, idx: Any) -> Any:
        return Tensor.view_of(self, idx)

    __hash__ = object.__hash__

    def _no_value(self, *_):
        raise no_value_error("a tensor")

    __bool__ = __lt__ = __le__ = __gt__ = __ge__ = _no_value

    def slice(self, start: int, end: int) -> Any:
        return self[start:end]

    def __repr__(self) -> str:
        nm = f"{self.name}: " if self.name else ""
        return f"Tensor({nm}{list(self.shape)} {self.dtype.value})"


def parse_layout_text(text: str, loc):
    """``TensorLayout.from_text`` for a string given in Python source: errors point at the
    user's line (the column inside the string literal is unknown) and quote the text."""
    from .errors import PtoError
    from .layout import TensorLayout
    try:
        return TensorLayout.from_text(text)
    except PtoError as e:
        col = e.loc.col if e.loc is not None else 1
        raise TypeCheckError(f"{e.message} at column {col} of {text!r}", loc,
                             hint=e.hint) from None


def _check_layout(layout, shape, loc, data=None):
    """``Tensor(layout=...)``: a TensorLayout (or its text) of the tensor's rank and shape."""
    if layout is None:
        return None
    from .layout import TensorLayout
    if isinstance(layout, str):
        layout = parse_layout_text(layout, loc)
    if not isinstance(layout, TensorLayout):
        raise TypeCheckError(f"Tensor layout must be a TensorLayout (or its text), got "
                             f"{type(layout).__name__}", loc,
                             hint="e.g. TensorLayout.sharded(dim=0, rank=2, mesh_axis=0)")
    if layout.rank != len(shape):
        raise TypeCheckError(f"layout {layout} has rank {layout.rank}, the tensor has shape "
                             f"{list(shape)}", loc,
                             hint="give one distribution element per dimension")
    if layout.mem is not None and layout.mem.shape != tuple(shape):
        raise TypeCheckError(f"memory layout {layout.mem} is for shape "
                             f"{list(layout.mem.shape)}, the tensor has shape {list(shape)}",
                             loc, hint="declare the MemLayout with the tensor's shape")
    if data is not None and layout.mem is not None and layout.mem.is_strided and \
            not layout.mem.matches(data):
        want = tuple(x * data.itemsize for x in layout.mem.strides())
        raise TypeCheckError(f"Tensor data has strides {data.strides}, but the memory layout "
                             f"{layout.mem} needs byte strides {want}", loc,
                             hint="lay the array out accordingly, e.g. np.asfortranarray(a) "
                                  "for col_major")
    return layout
