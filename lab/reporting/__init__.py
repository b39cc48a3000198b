"""The lab's reports: the GLUE report (`docs/RESULTS.md`) and the ablation table."""
