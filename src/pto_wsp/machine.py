"""The simulated target machine (a compile option, docs/cpu-sim.md "Simulated machine").

AICPUs receive tasks by the dispatch policy; each AICPU hands its ready tasks to its own
vector (AIV) and cube (AIC) cores. ``clock_mhz`` converts simulated cycles to time.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ScheduleError, SourceLoc


@dataclass(frozen=True)
class Machine:
    """``num_aicpus`` (None: the dispatch policy's ``n``, else 4), AIV and AIC cores per
    AICPU, clock in MHz. ``Machine()`` is the small default (1 + 1 cores per AICPU, 1 GHz);
    :meth:`a2a3` an Ascend 910B-class chip."""

    num_aicpus: int | None = None
    vector_lanes: int = 1
    cube_lanes: int = 1
    clock_mhz: int = 1000

    @staticmethod
    def a2a3() -> "Machine":
        """24 AIC + 48 AIV cores (910B: 24 cube cores, each with 2 vector cores) at 1.85 GHz
        (the a2a3 cost model's clock), served by 4 AICPU scheduler threads."""
        return Machine(num_aicpus=4, vector_lanes=12, cube_lanes=6, clock_mhz=1850)

    def check(self, loc: SourceLoc | None) -> "Machine":
        """This machine, or a located ScheduleError naming the bad field."""
        n = self.num_aicpus
        if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n <= 0):
            raise ScheduleError(f"num_aicpus must be a positive int, got {n!r}", loc)
        for what, v in (("vector_lanes", self.vector_lanes), ("cube_lanes", self.cube_lanes)):
            if isinstance(v, bool) or not isinstance(v, int) or not 0 < v <= 1024:
                raise ScheduleError(f"{what} must be an int in [1, 1024], got {v!r}", loc)
        c = self.clock_mhz
        if isinstance(c, bool) or not isinstance(c, int) or not 0 < c <= 100_000:
            raise ScheduleError(f"clock_mhz must be an int in [1, 100000], got {c!r}", loc)
        return self
