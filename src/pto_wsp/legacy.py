"""Names of older pto-wsp APIs that the specification still lists (spec 1.1, 5.4, 6.6).

Deprecated ones (``tl``, ``Shard``, ``Replicate``, ``Workload.layout``) warn with a
``DeprecationWarning`` naming the replacement and then do what it does. Removed ones
(``task``, ``ExternalKernel``, ``npu``, ``NPUFunction``, ``register_kernel``,
``kernel_legacy``) raise a located :class:`TypeCheckError` naming the replacement.
"""

from __future__ import annotations

import warnings

from .errors import TypeCheckError, user_location
from .layout import TensorReplicate, TensorShard

__all__ = ["Shard", "Replicate", "REMOVED", "deprecated"]


def deprecated(old: str, new: str) -> None:
    """Warn that ``old`` is deprecated in favour of ``new`` (at the caller's caller)."""
    warnings.warn(f"{old} is deprecated: use {new}", DeprecationWarning, stacklevel=3)


def Shard(mesh_axis: int) -> TensorShard:  # noqa: N802 - spec name
    """Deprecated: ``TensorShard(mesh_axis)``."""
    deprecated("Shard(mesh_axis)", "TensorShard(mesh_axis)")
    return TensorShard(mesh_axis)


def Replicate() -> TensorReplicate:  # noqa: N802 - spec name
    """Deprecated: ``TensorReplicate()``."""
    deprecated("Replicate()", "TensorReplicate()")
    return TensorReplicate()


def _removed(name: str, replacement: str):
    def removed(*args, **kwargs):
        raise TypeCheckError(f"{name} was removed from pto-wsp", user_location(),
                             hint=replacement)
    removed.__name__ = removed.__qualname__ = name
    removed.__doc__ = f"Removed: {replacement}"
    return removed


_TASK = "call the kernel inside a @workload: k[axes](name=view, ...)"
_EXTERNAL = ("define the kernel with @kernel(cpp_tu_path='file.c') or @kernel(cpp_src=...) "
             "(docs/api.md, 'Custom bodies')")
_NPU = "define kernels with @kernel and pto.* ops (or @ptoisa_kernel)"

#: removed name -> the function standing for it (raises, naming the replacement)
REMOVED = {name: _removed(name, hint) for name, hint in (
    ("task", _TASK), ("ExternalKernel", _EXTERNAL), ("npu", _NPU), ("NPUFunction", _NPU),
    ("kernel_legacy", _NPU),
    ("register_kernel", "kernels are compiled with the workload: workload.compile(target=...)"))}
