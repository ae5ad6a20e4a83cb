"""Exact overlap of strided 2-D boxes, and how each Deps mode turns regions into edges."""

import random


from conftest import C


def box_bytes(addr, rows, cols, rs, cs, elem):
    return {addr + i * rs + j * cs + b for i in range(rows) for j in range(cols) for b in range(elem)}


def overlap(rtlib, a, b):
    ffi, lib = rtlib
    ra = ffi.new("pto_rt_region *", dict(addr=a[0], rows=a[1], cols=a[2], row_stride=a[3],
                                          col_stride=a[4], elem_size=a[5], mode=1))
    rb = ffi.new("pto_rt_region *", dict(addr=b[0], rows=b[1], cols=b[2], row_stride=b[3],
                                          col_stride=b[4], elem_size=b[5], mode=1))
    return bool(lib.pto_rt__boxes_overlap(ra, rb))


BASE = 1 << 20
LD = 64  # leading dimension (elements) of a float32 matrix


def row_tile(r0, c0, h, w):
    return (BASE + (r0 * LD + c0) * 4, h, w, LD * 4, 4, 4)


def transposed(r0, c0, h, w):
    """Box coordinates (i, j) -> matrix element (r0 + j, c0 + i): a transposed view."""
    return (BASE + (r0 * LD + c0) * 4, h, w, 4, LD * 4, 4)


def test_transposed_view_against_row_tile(rtlib):
    # transposed view covering matrix rows 0..7, cols 0..3 vs a row tile at rows 0..1, cols 2..5
    assert overlap(rtlib, transposed(0, 0, 4, 8), row_tile(0, 2, 2, 4))
    # same bounding boxes interleave but bytes are disjoint: rows 0..7 cols 0..3 vs cols 4..7
    assert not overlap(rtlib, transposed(0, 0, 4, 8), row_tile(0, 4, 8, 4))
    # strided columns: every other column vs the columns in between
    even = (BASE, 8, 4, LD * 4, 8, 4)
    odd = (BASE + 4, 8, 4, LD * 4, 8, 4)
    assert not overlap(rtlib, even, odd)
    assert overlap(rtlib, even, (BASE + 8, 1, 1, 4, 4, 4))
    # identical boxes and partial element overlap (misaligned element)
    assert overlap(rtlib, row_tile(3, 3, 2, 2), row_tile(3, 3, 2, 2))
    assert overlap(rtlib, (BASE, 1, 1, 8, 8, 8), (BASE + 7, 1, 1, 1, 1, 1))
    assert not overlap(rtlib, (BASE, 1, 1, 8, 8, 8), (BASE + 8, 1, 1, 1, 1, 1))
    # negative strides (flipped view)
    flipped = (BASE + 7 * LD * 4, 8, 1, -LD * 4, 4, 4)
    assert overlap(rtlib, flipped, row_tile(0, 0, 1, 1))
    assert not overlap(rtlib, flipped, row_tile(0, 1, 8, 1))


def test_random_boxes_match_brute_force(rtlib):
    rnd = random.Random(1)
    for _ in range(3000):
        boxes = []
        for _ in range(2):
            elem = rnd.choice([1, 2, 4, 8])
            rows, cols = rnd.randint(1, 6), rnd.randint(1, 6)
            rs = rnd.choice([elem, elem * cols, rnd.randint(1, 40), -rnd.randint(1, 40)])
            cs = rnd.choice([elem, rnd.randint(1, 40), -rnd.randint(1, 20)])
            addr = BASE + rnd.randint(0, 300)
            boxes.append((addr, rows, cols, rs, cs, elem))
        a, b = boxes
        want = bool(box_bytes(*a) & box_bytes(*b))
        assert overlap(rtlib, a, b) == want, (a, b)


def sim_total(make_rt, deps, regions_per_task, cycles=100):
    rt = make_rt(num_threads=2, deps=deps, num_aicpus=len(regions_per_task))
    for i, regs in enumerate(regions_per_task):
        rt.rec(i, cycles=cycles, regions=[rt.region(*r) for r in regs])
    assert rt.finish() == 0
    return rt.stats().total_cycles


def test_exact_mode_ignores_different_keys_overlap_mode_does_not(make_rt):
    w = (*row_tile(0, 0, 4, 4), C["WRITE"])
    r_same = (*row_tile(0, 0, 4, 4), C["READ"])
    r_part = (*row_tile(2, 2, 4, 4), C["READ"])           # overlaps, different key
    r_tr = (*transposed(0, 0, 4, 4), C["READ"])           # same bytes, transposed key
    r_far = (*row_tile(8, 8, 4, 4), C["READ"])
    assert sim_total(make_rt, C["EXACT"], [[w], [r_same]]) == 200
    assert sim_total(make_rt, C["EXACT"], [[w], [r_part]]) == 100
    assert sim_total(make_rt, C["EXACT"], [[w], [r_tr]]) == 100
    assert sim_total(make_rt, C["OVERLAP"], [[w], [r_part]]) == 200
    assert sim_total(make_rt, C["OVERLAP"], [[w], [r_tr]]) == 200
    assert sim_total(make_rt, C["OVERLAP"], [[w], [r_far]]) == 100
    assert sim_total(make_rt, C["HYBRID"], [[w], [r_part]]) == 200
    # EXPLICIT ignores regions entirely (no scopes -> no edges)
    assert sim_total(make_rt, C["EXPLICIT"], [[w], [r_same]]) == 100


def test_war_through_overlap_neighbour(make_rt):
    # reader of a transposed view, then a writer of an overlapping row tile: WAR
    rd = (*transposed(0, 0, 4, 8), C["READ"])
    wr = (*row_tile(1, 1, 1, 1), C["WRITE"])
    assert sim_total(make_rt, C["OVERLAP"], [[rd], [wr]]) == 200
    wr_far = (*row_tile(1, 5, 1, 1), C["WRITE"])
    assert sim_total(make_rt, C["OVERLAP"], [[rd], [wr_far]]) == 100


def test_large_region_against_tiles(make_rt):
    """A region spanning many address chunks (whole 2048x2048 f32 matrix) vs tiles."""
    ld = 2048
    whole = (BASE, ld, ld, ld * 4, 4, 4, C["READ"])
    t_in = (BASE + (100 * ld + 100) * 4, 4, 4, ld * 4, 4, 4, C["WRITE"])
    t_out = (BASE + ld * ld * 4 + 64, 4, 4, ld * 4, 4, 4, C["WRITE"])
    assert sim_total(make_rt, C["OVERLAP"], [[t_in], [whole]]) == 200
    assert sim_total(make_rt, C["OVERLAP"], [[whole], [t_in]]) == 200
    assert sim_total(make_rt, C["OVERLAP"], [[whole], [t_out]]) == 100


def test_exact_mode_tracks_flagged_regions_by_overlap(make_rt):
    """TENSOR_MAP_EXACT with per-region `overlap` flags: flagged boxes are related by byte
    overlap (row blocks written, then 2-D tiles read), unflagged ones by identity only."""
    def flag(r, f=1):
        return (*r, 0, f)  # buf_id, overlap
    rows = (*row_tile(0, 0, 4, LD), C["WRITE"])      # a 4-row block
    tile = (*row_tile(2, 8, 4, 4), C["READ"])        # a 4x4 tile straddling it
    tr = (*transposed(0, 0, 4, 4), C["READ"])
    far = (*row_tile(8, 0, 4, 4), C["READ"])
    assert sim_total(make_rt, C["EXACT"], [[flag(rows)], [flag(tile)]]) == 200
    assert sim_total(make_rt, C["EXACT"], [[flag(rows)], [flag(tr)]]) == 200
    assert sim_total(make_rt, C["EXACT"], [[flag(rows)], [flag(far)]]) == 100
    # WAR through a neighbour, and an exact-tracked box beside flagged ones
    other = (BASE + (1 << 16), 4, 4, 16, 4, 4, C["WRITE"])
    assert sim_total(make_rt, C["EXACT"], [[flag(tile), other],
                                           [flag((*row_tile(3, 9, 1, 1), C["WRITE"]))],
                                           [(*other[:6], C["READ"])]]) == 200
    assert sim_total(make_rt, C["EXACT"], [[flag(rows)], [flag(tile, 0)]]) == 100  # contract


def test_one_box_with_two_tracking_flags_is_rejected(make_rt):
    rt = make_rt(num_threads=1, deps=C["EXACT"])
    box = row_tile(0, 0, 4, 4)
    assert rt.rec(0, regions=[rt.region(*box, C["WRITE"])]) >= 0
    rt.rec(1, regions=[dict(rt.region(*box, C["READ"]), overlap=1)])
    assert rt.rec(2) < 0 and rt.finish() == C["EINVAL"]  # fatal: the run stops
    code, msg, _, _ = rt.error()
    assert code == C["EINVAL"] and "exact-tracked and overlap-tracked" in msg


def test_wait_region_honours_the_overlap_flag(make_rt):
    """An element read back (slot_load_u64) waits for the writer of the whole tile when the
    tensor is overlap-tracked."""
    rt = make_rt(num_threads=2, deps=C["EXACT"], start=C["AFTER_ORCH"])
    a = rt.ffi.new("double[]", 16)
    base = int(rt.ffi.cast("uintptr_t", a))
    tile = dict(rt.region(base, 4, 4, 32, 8, 8, C["WRITE"]), overlap=1)
    assert rt.rec(7, sleep_us=20000, regions=[tile]) >= 0
    elem = rt.ffi.new("pto_rt_region *", dict(rt.region(base + 5 * 8, 1, 1, 8, 8, 8, C["READ"]),
                                               overlap=1))
    assert rt.lib.pto_rt_wait_region(rt.rt, elem) == 0
    assert rt.order() == [7]  # the writer finished before wait_region returned
    assert rt.finish() == 0


def test_boxes_in_more_tensors_than_the_index_keeps_ranges_for(make_rt):
    """The overlap index skips groups (and flat entries) whose tensors' byte ranges a box does
    not meet; with more tensors than it keeps ranges for (8), ranges merge and every overlap
    is still found."""
    span = 1 << 16  # tensor k: 64 rows x 64 f32 at BASE + 3 * k * span (gaps between them)

    def tile(k, r0, c0, h=4, w=4):
        return (BASE + 3 * k * span + (r0 * LD + c0) * 4, h, w, LD * 4, 4, 4)

    def panel(k, r0, rows):  # contiguous rows, not aligned to the row stride: a flat entry
        return (BASE + 3 * k * span + r0 * LD * 4 + 4, 1, rows * LD - 1, 4, 4, 4)

    writers = [[(*tile(k, 8, 8), C["WRITE"])] for k in range(10)]
    writers += [[(*panel(k, 32, 4), C["WRITE"])] for k in range(10)]
    for k in (0, 4, 9):
        assert sim_total(make_rt, C["OVERLAP"], writers + [[(*tile(k, 10, 10), C["READ"])]]) == 200
        assert sim_total(make_rt, C["OVERLAP"], writers + [[(*tile(k, 33, 0), C["READ"])]]) == 200
        assert sim_total(make_rt, C["OVERLAP"], writers + [[(*panel(k, 9, 1), C["READ"])]]) == 200
        assert sim_total(make_rt, C["OVERLAP"], writers + [[(*tile(k, 20, 20), C["READ"])]]) == 100
    assert sim_total(make_rt, C["OVERLAP"], writers + [[(*tile(1, 20, 20), C["READ"])]]) == 100
