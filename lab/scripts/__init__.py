"""The lab's commands: berxit-experiments, berxit-compare-runs, berxit-check-promise, berxit-benchmark,
berxit-serving-speed."""
