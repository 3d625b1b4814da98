#!/usr/bin/env python3
"""Benchmarks/barchart.py TITLE < ROWS — a horizontal bar chart as SVG on stdout.

ROWS: tab-separated `group<TAB>subgroup<TAB>label<TAB>value` lines (coldstart.sh: link, workload,
scenario, seconds). One panel per (group, subgroup), one bar per label, each bar's value written at its end.
No dependencies beyond Python's standard library, so the benchmark can draw its own chart anywhere.
"""
import sys
from html import escape

title = sys.argv[1] if len(sys.argv) > 1 else ""
panels = {}
for line in sys.stdin:
    parts = line.rstrip("\n").split("\t")
    if len(parts) != 4 or not parts[3]:
        continue
    group, sub, label, value = parts
    panels.setdefault((group, sub), []).append((label, float(value)))

colors = {"usual": "#9e9e9e", "lazy, no profile": "#f2a65a", "lazy, profile": "#2e7d32", "warm": "#66bb6a",
          "hot": "#a5d6a7"}
def color(label):
    return next((c for k, c in colors.items() if label.startswith(k)), "#607d8b")

bar, gap, label_w, plot_w, pad = 18, 4, 170, 460, 12
y = 40
parts = []
for (group, sub), bars in panels.items():
    top = max(v for _, v in bars) or 1
    parts.append(f'<text x="{pad}" y="{y}" font-weight="bold">{escape(sub)}, {escape(group)}</text>')
    y += 10
    for label, v in bars:
        w = plot_w * v / top
        parts.append(f'<text x="{pad + label_w - 6}" y="{y + bar - 5}" text-anchor="end">{escape(label)}</text>')
        parts.append(f'<rect x="{pad + label_w}" y="{y}" width="{w:.1f}" height="{bar}" fill="{color(label)}"/>')
        parts.append(f'<text x="{pad + label_w + w + 4:.1f}" y="{y + bar - 5}">{v:.2f} s</text>')
        y += bar + gap
    y += 24
width = pad * 2 + label_w + plot_w + 70
print(f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{y}" font-family="sans-serif" '
      f'font-size="12"><rect width="100%" height="100%" fill="white"/>'
      f'<text x="{pad}" y="20" font-size="14" font-weight="bold">{escape(title)}</text>')
print("\n".join(parts))
print("</svg>")
