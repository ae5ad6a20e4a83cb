"""The default simulated dispatch against hand-computed schedules. It is work-conserving: at
every simulated instant each free lane (lowest number first) takes, of the tasks that are
ready, within the window and given to its AICPU (or to any), the one of its unit submitted
first; no lane of the right unit idles while such a task waits."""

from conftest import C

from test_policies import addr


def schedule(rt):
    """{task index: (lane, start, end)} of a finished traced run."""
    assert rt.finish() == 0
    return {tid: (lane, s, e) for tid, lane, s, e, _ in rt.events()}


def traced(make_rt, **cfg):
    return make_rt(num_threads=2, trace=C["TRACE_CYCLES"], **cfg)


def test_independent_task_fills_an_idle_lane(make_rt):
    rt = traced(make_rt, num_aicpus=1, vector_lanes=2)
    a = addr(rt)
    x, y = rt.tile(a, C["WRITE"]), rt.tile(a + 256, C["WRITE"])
    rt.rec(0, cycles=10, regions=[x])                          # lane 0 [0, 10)
    rt.rec(1, cycles=20, regions=[y])                          # lane 1 [0, 20)
    rt.rec(2, cycles=5, regions=[rt.tile(a, C["READ"]), rt.tile(a + 256, C["READ"])])
    rt.rec(3, cycles=10)                                       # ready at 0: the gap [10, 20)
    rt.rec(4, cycles=4)                                        # lane 1 is free at 20
    assert schedule(rt) == {0: (0, 0, 10), 1: (1, 0, 20), 2: (0, 20, 25), 3: (0, 10, 20),
                            4: (1, 20, 24)}
    assert rt.stats().total_cycles == 25                      # in submission order only: 30


def test_independent_chains_run_side_by_side(make_rt):
    # two 3-task chains submitted one after the other on 2 lanes: the second chain does not
    # queue behind the first (in submission order only it would end at 50)
    rt = traced(make_rt, num_aicpus=1, vector_lanes=2)
    a = addr(rt)
    for c in range(2):
        for k in range(3):
            rt.rec(3 * c + k, cycles=10, regions=[rt.tile(a + 256 * c, C["RW"])])
    assert schedule(rt) == {0: (0, 0, 10), 1: (0, 10, 20), 2: (0, 20, 30),
                            3: (1, 0, 10), 4: (1, 10, 20), 5: (1, 20, 30)}


def test_gap_too_short_is_skipped_for_a_later_one(make_rt):
    rt = traced(make_rt, num_aicpus=1, vector_lanes=1)
    a = addr(rt)
    rt.rec(0, cycles=10, regions=[rt.tile(a, C["WRITE"])])     # [0, 10)
    rt.rec(1, cycles=5, regions=[rt.tile(a, C["READ"])])       # [10, 15)
    rt.rec(2, cycles=5, regions=[rt.tile(a + 256, C["WRITE"])])   # [15, 20)
    assert schedule(rt) == {0: (0, 0, 10), 1: (0, 10, 15), 2: (0, 15, 20)}


def test_cube_and_vector_tasks_use_their_own_lanes(make_rt):
    # lanes of AICPU 0: 0 = vector, 1 and 2 = cube
    rt = traced(make_rt, num_aicpus=1, vector_lanes=1, cube_lanes=2)
    for i, u in enumerate("CCCVV"):
        rt.rec(i, cycles=10, unit=C["CUBE"] if u == "C" else C["VECTOR"])
    assert schedule(rt) == {0: (1, 0, 10), 1: (2, 0, 10), 2: (1, 10, 20),
                            3: (0, 0, 10), 4: (0, 10, 20)}


def test_window_bounds_the_tasks_in_flight(make_rt):
    # a window of 2: task k issues when task k-2 and everything before it has ended
    rt = traced(make_rt, num_aicpus=1, vector_lanes=4, window_size=2)
    for i, c in enumerate([10, 30, 10, 10, 10]):
        rt.rec(i, cycles=c)
    assert schedule(rt) == {0: (0, 0, 10), 1: (1, 0, 30), 2: (0, 10, 20), 3: (0, 30, 40),
                            4: (1, 30, 40)}


def test_ties_go_to_the_lowest_lane(make_rt):
    # WORK_STEAL: any AICPU; lanes per AICPU [vector, cube], so the vector lanes are 0 and 2
    rt = traced(make_rt, num_aicpus=2, dispatch=C["DWS"])
    for i, c in enumerate([10, 10, 10, 10]):
        rt.rec(i, cycles=c)
    assert schedule(rt) == {0: (0, 0, 10), 1: (2, 0, 10), 2: (0, 10, 20), 3: (2, 10, 20)}


def test_dispatch_policy_keeps_a_task_on_its_aicpu(make_rt):
    # AFFINITY to AICPU 0 for every task: the idle AICPU 1 is never used
    rt = traced(make_rt, num_aicpus=2, dispatch=C["AFFINITY"])
    for i in range(3):
        rt.rec(i, cycles=10, dkey=0)
    assert schedule(rt) == {0: (0, 0, 10), 1: (0, 10, 20), 2: (0, 20, 30)}


def test_a_free_lane_never_idles_while_a_ready_task_waits(make_rt):
    # lanes of AICPU 0: 0 = vector, 1 = cube. V2 waits for C1 (ready at 30), V3 is ready at 0.
    # Conservative backfilling kept V2's slot [30, 40) and, the hole [10, 30) being too short
    # for V3's 25 cycles, put V3 after it at [40, 65): the vector lane idled in [10, 30) while
    # V3 waited. Work-conserving: V3 takes the lane at 10, V2 runs when it frees at 35.
    rt = traced(make_rt, num_aicpus=1, vector_lanes=1, cube_lanes=1)
    a = addr(rt)
    rt.rec(0, cycles=10)                                                      # V0
    rt.rec(1, cycles=30, unit=C["CUBE"], regions=[rt.tile(a, C["WRITE"])])    # C1
    rt.rec(2, cycles=10, regions=[rt.tile(a, C["READ"])])                     # V2
    rt.rec(3, cycles=25)                                                      # V3
    assert schedule(rt) == {0: (0, 0, 10), 1: (1, 0, 30), 2: (0, 35, 45), 3: (0, 10, 35)}
    assert rt.stats().total_cycles == 45                      # conservative backfilling: 65
