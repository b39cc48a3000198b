"""Reports of results: markdown tables, speed-accuracy plots, the model card, and `docs/RESULTS.md`."""
