"""pto-wsp: workload-schedule programming for tile-based NPUs.

Write tile kernels (``@kernel`` + ``pto.*``), workloads (``@workload`` + ``P`` loops) and
schedules (``.dispatch(...)``, ``.task_graph(...)``), then ``compile(target="cpu_sim")`` to run
them natively on numpy data with simulated NPU cycles, or ``target="ascend_npu"`` to emit an
Ascend source tree.
"""

from .errors import (AxisIndexError, ChannelClosed, ChannelError, ChannelFull, CompileError, DeadlockError,
                     ExecutionError, IRConversionError, KernelError, PtoError, PtoSyntaxError,
                     ScheduleError, TypeCheckError, WindowOverflowError)
from .language import pto, ptoisa
from .language.ptoisa import ptoisa_kernel
from .language.csp import (Channel, Event, connect, consume, process, query, record, replicate,
                           send, synchronize)
from .language.kernel import (Constexpr, In, InOut, KernelRef, Out, Scalar, Tile, jit_kernel,
                              kernel)
from .language.scalar import (IntVar, cast, slot_u64, symbol_f32, symbol_i64, symbol_ptr, symbol_u64,
                              where)
from .language.collectives import allgather, allreduce, reduce_scatter, relayout
from .ir.verify import TypeChecker
from .language.scalar import TaskProxy as Task
from .layout import (MemLayout, TensorLayout, TensorPartial, TensorReplicate, TensorShard,
                     check_layouts_compatible, tensor_layout_join)
from .linear_layout import LinearLayout
from .language.workload import (P, Workload, combine, sequential, slot_load_u64, slot_set_u64,
                                workload)
from .program import Program, ProgramStats, compile
from .machine import Machine
from .schedule import (Deps, DispatchPolicy, Pools, ReadyPolicy, StartPolicy, TaskWindow,
                       TimingPolicy, TracePolicy, WindowMode)
from .types import (DType, Dense, DenseDyn, Location, Ragged, Sparse, Tensor,
                    validate_axis_index)

from .legacy import REMOVED as _REMOVED
from .legacy import Replicate, Shard  # deprecated (spec 1.1): not in __all__

__version__ = "0.1.0"


def __getattr__(name: str):
    """``tl`` (deprecated alias of ``pto``) and the removed legacy names (spec 5.4, 6.6)."""
    if name == "tl":
        from .legacy import deprecated
        deprecated("pto_wsp.tl", "pto_wsp.pto")
        return pto
    if name in _REMOVED:
        return _REMOVED[name]
    raise AttributeError(f"module 'pto_wsp' has no attribute {name!r}")

__all__ = [
    # types and axes
    "DType", "Location", "Dense", "DenseDyn", "Ragged", "Sparse", "Tensor", "IntVar", "Task",
    # checking
    "TypeChecker", "validate_axis_index", "check_layouts_compatible", "tensor_layout_join",
    # layouts and collectives
    "TensorLayout", "TensorShard", "TensorReplicate", "TensorPartial", "MemLayout",
    "LinearLayout", "relayout", "allreduce", "allgather", "reduce_scatter",
    # kernels
    "kernel", "jit_kernel", "KernelRef", "ptoisa_kernel", "pto", "ptoisa", "In", "Out", "InOut", "Constexpr", "Tile", "Scalar",
    # workloads
    "workload", "P", "Workload", "combine", "sequential",
    "where", "cast", "symbol_u64", "symbol_i64", "symbol_f32", "symbol_ptr", "slot_u64",
    "slot_set_u64", "slot_load_u64",
    # CSP
    "Channel", "Event", "process", "send", "consume", "connect", "replicate", "record",
    "synchronize", "query",
    # schedules
    "DispatchPolicy", "TimingPolicy", "TaskWindow", "WindowMode", "Deps", "ReadyPolicy",
    "StartPolicy", "TracePolicy", "Pools",
    # compiling and running
    "compile", "Program", "ProgramStats", "Machine",
    # errors
    "PtoError", "CompileError", "TypeCheckError", "IRConversionError", "PtoSyntaxError",
    "ExecutionError", "KernelError", "ScheduleError", "ChannelError", "ChannelClosed",
    "ChannelFull", "DeadlockError", "WindowOverflowError", "AxisIndexError",
]
