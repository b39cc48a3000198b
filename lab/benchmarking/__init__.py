"""The batched early-exit benchmark: models and inputs, thresholds placed where wanted, interleaved timing, report."""
