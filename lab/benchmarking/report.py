"""The benchmark's markdown report."""

from __future__ import annotations

from ...reporting.tables import markdown_table


def render(report: dict) -> str:
    device = report.get("device", "cpu")
    precision = report["arguments"].get("dtype", "fp32")
    lines = [
        "# Batched early exit: benchmark",
        "",
        f"device: {device}, {precision}; torch threads: {report['torch_threads']}",
        "",
    ]
    for run in report["runs"]:
        lines += [f"## {run['model']}, {run['sequence_length']} tokens", "", markdown_table(run["rows"])]
        if "padded_batch_32" in run:
            lines += ["Real reviews padded to this length, batch 32 (trimming padding):", ""]
            lines += [markdown_table([run["padded_batch_32"]])]
    if "training" in report:
        lines += ["## Training cost (seconds per optimizer step)", "", markdown_table([report["training"]])]
    return "\n".join(lines)
