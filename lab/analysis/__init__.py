"""Analyses of trained runs: runs compared side by side (the ablation table's numbers) and the promise checked on
random halves of the calibration split."""
