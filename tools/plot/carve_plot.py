#!/usr/bin/env python3
"""Renders carve's figures with matplotlib (Debian python3-matplotlib).

Usage: carve_plot.py SPEC.json, where SPEC.json is a list of figures:
  {"out": "a.png", "kind": "lines" | "bars", "title": ..., "xlabel": ..., "ylabel": ...,
   "logx": false, "logy": false, "width": 800, "height": 500,
   "series": [{"label": ..., "x": [...], "y": [...]}, ...]}
Every figure is saved at exactly width x height pixels (dpi 100), with labelled axes and a
legend naming every series.
"""
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402


def render(fig_spec):
    width, height = fig_spec.get("width", 800), fig_spec.get("height", 500)
    kind = fig_spec.get("kind", "lines")
    if kind == "image":
        # An image grid carve wrote as fig_spec["out"]: drawn again under its title.
        # At its own pixels (carve wrote it at twice the tiles' size), 50 pixels above it for the
        # title, at least 700 pixels wide for a title's line.
        image = plt.imread(fig_spec["out"])
        h, w = image.shape[0], image.shape[1]
        fig_w, fig_h = max(w, 700), h + 50
        fig = plt.figure(figsize=(fig_w / 100, fig_h / 100), dpi=100)
        ax = fig.add_axes([(fig_w - w) / 2 / fig_w, 0, w / fig_w, h / fig_h])
        ax.imshow(image, cmap="gray", interpolation="nearest", vmin=0, vmax=1)
        ax.set_axis_off()
        fig.suptitle(fig_spec.get("title", ""), fontsize=10, y=1 - 12 / fig_h, va="top")
        save(fig, fig_spec)
        return
    fig, ax = plt.subplots(figsize=(width / 100, height / 100), dpi=100)
    series = fig_spec["series"]
    for i, s in enumerate(series):
        if kind == "bars":
            x = s["x"]
            widths = [x[j + 1] - x[j] for j in range(len(x) - 1)] if len(x) > 1 else [1.0]
            widths.append(widths[-1])
            ax.bar(x, s["y"], width=widths, align="edge", alpha=0.6 if len(series) > 1 else 0.9,
                   label=s["label"], edgecolor="none")
        else:
            ax.plot(s["x"], s["y"], marker="o" if len(s["x"]) <= 30 else None, markersize=3,
                    linewidth=1.5, label=s["label"])
    if fig_spec.get("logx"):
        ax.set_xscale("log")
    if fig_spec.get("logy"):
        ax.set_yscale("log")
    ax.set_title(fig_spec.get("title", ""))
    ax.set_xlabel(fig_spec.get("xlabel", ""))
    ax.set_ylabel(fig_spec.get("ylabel", ""))
    if fig_spec.get("xlabel") == "epoch":
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # no epoch 2.5
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    save(fig, fig_spec)


def save(fig, fig_spec):
    tmp = fig_spec["out"] + ".tmp.png"
    try:
        fig.savefig(tmp, dpi=100)
        os.replace(tmp, fig_spec["out"])
    except OSError as e:
        # One line that carve passes on: the file and the cause; no partial file is left.
        if os.path.exists(tmp):
            os.remove(tmp)
        sys.stderr.write("{}: write failed: {}\n".format(fig_spec["out"], e.strerror or e))
        sys.exit(3)
    finally:
        plt.close(fig)


def main():
    with open(sys.argv[1]) as f:
        for fig_spec in json.load(f):
            render(fig_spec)


if __name__ == "__main__":
    main()
