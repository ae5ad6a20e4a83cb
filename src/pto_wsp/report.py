"""``program.report(path)`` / ``pto-wsp report``: one self-contained HTML file (inline CSS and
SVG, no script, nothing fetched) showing a run: the simulated timeline per lane, utilisation
per lane and per kernel, and the top kernels by cycles."""

from __future__ import annotations

import colorsys
import hashlib
from html import escape

from .stats import ProgramStats

_WIDTH, _ROW, _LABEL = 1100, 18, 150  # timeline: drawing width, lane height, label width
_TOP = 15  # kernels listed in "top kernels"


def _color(name: str) -> str:
    h = int(hashlib.sha1(name.encode()).hexdigest()[:6], 16) / 0xFFFFFF
    r, g, b = colorsys.hls_to_rgb(h, 0.55, 0.6)
    return f"#{int(r * 255):02x}{int(g * 255):02x}{int(b * 255):02x}"


def _bar(frac: float, color: str = "#4a7bd0") -> str:
    return (f'<div class="bar"><div style="width:{100 * min(max(frac, 0.0), 1.0):.2f}%;'
            f'background:{color}"></div></div>')


def _events(trace: dict) -> list[tuple[int, int, int, str, list, int]]:
    """(lane, start, end, kernel, index, task) of each simulated task event."""
    return [(e["tid"], e["ts"], e["ts"] + e["dur"], e["args"]["kernel"], e["args"]["index"],
             e["args"]["task"])
            for e in trace["traceEvents"] if e.get("ph") == "X" and e.get("pid") == 1]


def _timeline(stats: ProgramStats, events: list) -> str:
    """Inline SVG, one row per lane. Consecutive tasks of one kernel closer than a pixel merge
    into one box when one of them is narrower than a pixel, so the size is bounded by the
    drawing width, not by the task count."""
    total = max(stats.total_cycles, 1)
    per_px = total / _WIDTH
    by_lane: dict[int, list] = {}
    for ev in sorted(events, key=lambda e: (e[0], e[1])):
        boxes = by_lane.setdefault(ev[0], [])
        if boxes and boxes[-1][3] == ev[3] and ev[1] - boxes[-1][2] <= per_px and \
                min(boxes[-1][2] - boxes[-1][1], ev[2] - ev[1]) < per_px:
            boxes[-1][2] = max(boxes[-1][2], ev[2])
            boxes[-1][5] += 1
        else:
            boxes.append([ev[0], ev[1], ev[2], ev[3], ev[4], 1, ev[5]])
    h = _ROW * len(stats.lanes) + 24
    out = [f'<svg class="timeline" width="{_LABEL + _WIDTH + 10}" height="{h}" '
           f'xmlns="http://www.w3.org/2000/svg" font-size="11" font-family="sans-serif">']
    for i, lane in enumerate(stats.lanes):
        y = i * _ROW
        out.append(f'<text x="0" y="{y + 13}">{escape(lane.name)}</text>'
                   f'<rect x="{_LABEL}" y="{y + 2}" width="{_WIDTH}" height="{_ROW - 4}" '
                   f'fill="#f2f2f2"/>')
        for _, s, e, k, idx, n, task in by_lane.get(i, []):
            x, w = _LABEL + s / per_px, max((e - s) / per_px, 0.5)
            what = (f"{k}[{', '.join(map(str, idx))}] task {task}" if n == 1
                    else f"{n} tasks of {k}")
            out.append(f'<rect x="{x:.2f}" y="{y + 2}" width="{w:.2f}" height="{_ROW - 4}" '
                       f'fill="{_color(k)}" stroke="#fff" stroke-width="0.5"><title>{escape(what)}: cycles {s:,}..{e:,}'
                       f'</title></rect>')
    y = len(stats.lanes) * _ROW + 16
    for j in range(5):
        c = total * j // 4
        out.append(f'<text x="{_LABEL + _WIDTH * j / 4 - (30 if j == 4 else 0):.0f}" '
                   f'y="{y}">{c:,}</text>')
    out.append("</svg>")
    return "".join(out)


def render(name: str, stats: ProgramStats, trace: dict | None) -> str:
    """The report of one run as an HTML document."""
    s = stats
    cp = s.critical_path / s.total_cycles if s.total_cycles else 0.0
    kernel_total = sum(k.cycles for k in s.kernels.values()) or 1
    busy = sum(ln.busy_cycles for ln in s.lanes)
    mean_util = busy / (max(s.total_cycles, 1) * max(len(s.lanes), 1))
    summary = [("simulated cycles", f"{s.total_cycles:,}"),
               ("critical path", f"{s.critical_path:,} cycles ({cp:.0%} of total)"),
               ("tasks", f"{s.task_count:,} ({s.executed:,} executed, {s.cancelled:,} cancelled)"),
               ("mean lane utilisation", f"{mean_util:.1%} of {len(s.lanes)} lanes"),
               ("host", f"run {s.execute_time_ms:,.2f} ms; wall {s.wall_ms:,.2f} ms = "
                        f"orchestration {s.orchestration_ms:,.2f} ms + drain {s.drain_ms:,.2f} ms;"
                        f" {s.num_workers} worker thread(s)")]
    ranked = sorted(s.kernels.items(), key=lambda kv: -kv[1].cycles)
    machine = max(s.total_cycles, 1) * max(len(s.lanes), 1)  # lane-cycles of the run
    rows_k = "".join(
        f'<tr><td><span class="sw" style="background:{_color(k)}"></span>{escape(k)}</td>'
        f'<td class="n">{v.tasks:,}</td><td class="n">{v.cycles:,}</td>'
        f'<td class="n">{v.cycles / kernel_total:.1%}</td>'
        f'<td class="n">{v.cycles / machine:.1%}</td>'
        f'<td>{_bar(v.cycles / kernel_total, _color(k))}</td></tr>' for k, v in ranked[:_TOP])
    rows_l = "".join(
        f'<tr><td>{escape(ln.name)}</td><td class="n">{ln.tasks:,}</td>'
        f'<td class="n">{ln.busy_cycles:,}</td><td class="n">{ln.utilisation:.1%}</td>'
        f'<td>{_bar(ln.utilisation)}</td></tr>' for ln in s.lanes)
    if trace is not None:
        timeline = _timeline(s, _events(trace))
    else:
        timeline = ('<p class="note">No trace: compile with '
                    '<code>.task_graph(trace=TracePolicy.cycles())</code> (or use '
                    '<code>pto-wsp report</code>, which turns it on) to see the timeline.</p>')
    more = f" (top {_TOP} of {len(ranked)})" if len(ranked) > _TOP else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>pto-wsp run: {escape(name)}</title>
<style>
body {{ font-family: sans-serif; margin: 24px; color: #222; }}
h1 {{ font-size: 20px; }} h2 {{ font-size: 16px; margin-top: 28px; }}
table {{ border-collapse: collapse; }} td, th {{ padding: 2px 10px; text-align: left; }}
th {{ border-bottom: 1px solid #999; }} td.n {{ text-align: right; font-variant-numeric: tabular-nums; }}
.bar {{ width: 240px; height: 10px; background: #eee; }} .bar div {{ height: 10px; }}
.sw {{ display: inline-block; width: 10px; height: 10px; margin-right: 6px; }}
.note {{ color: #777; }}
</style></head><body>
<h1>pto-wsp run: {escape(name)}</h1>
<table id="summary">{"".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in summary)}</table>
<h2>Simulated timeline per lane</h2>
{timeline}
<h2>Top kernels by cycles{more}</h2>
<p class="note">share: of all kernel cycles; utilisation: of all lanes' time.</p>
<table id="kernels"><tr><th>kernel</th><th>tasks</th><th>cycles</th><th>share</th>
<th>utilisation</th><th></th></tr>
{rows_k}</table>
<h2>Utilisation per lane</h2>
<table id="lanes"><tr><th>lane</th><th>tasks</th><th>busy cycles</th><th>utilisation</th><th></th></tr>
{rows_l}</table>
</body></html>
"""
