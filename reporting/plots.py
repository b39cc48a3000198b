"""The speed-accuracy plot: metric against average exit layer, one line per exit rule, beside static depth (every
example answered at one exit), the baseline a user gets by truncating the model."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def plot_curves(
    curves: dict[str, list[dict]],
    final: dict,
    metric: str,
    *,
    path: str | Path,
    title: str,
    operating_points: dict[str, dict] | None = None,
    operating_label: str = "operating points",
    reference: float | None = None,
    final_label: str = "final layer",
    static_depth: list[dict] | None = None,
    static_depth_label: str = "static depth (exit k for all)",
) -> Path:
    """Writes a PNG; `curves` maps a label to its points, `final` marks the final layer, circles the points chosen;
    `reference` (a metric value, e.g. plain fine-tuning's) is drawn as a dashed line, `static_depth` (points of
    `evaluation.curves.static_depth_curve`) as a grey dotted one."""
    figure, axes = plt.subplots(figsize=(6.4, 4.4))
    if static_depth:
        x, y = [p["avg_exit_layer"] for p in static_depth], [100 * p[metric] for p in static_depth]
        axes.plot(x, y, marker="s", markersize=4, color="grey", linestyle=":", label=static_depth_label)
    for label, points in curves.items():
        ordered = sorted(points, key=lambda p: p["avg_exit_layer"])
        axes.plot([p["avg_exit_layer"] for p in ordered], [100 * p[metric] for p in ordered], marker=".", label=label)
    if operating_points:
        chosen = list(operating_points.values())
        x, y = [p["avg_exit_layer"] for p in chosen], [100 * p[metric] for p in chosen]
        axes.plot(x, y, "o", markersize=10, fillstyle="none", color="black", linestyle="none", label=operating_label)
    axes.plot(final["avg_exit_layer"], 100 * final[metric], "*", markersize=14, color="black", label=final_label)
    if reference is not None:
        axes.axhline(100 * reference, color="grey", linestyle="--", label="plain fine-tuning")
    axes.set_xlabel("average exit layer")
    axes.set_ylabel(f"{metric} (%)")
    axes.set_title(title, fontsize=10)
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return Path(path)
