"""The lab: the paper's reproduction and berxit's own evidence (the GLUE grid, the ablations, run comparisons, the
promise analysis, the benchmarks and the reports). It imports the product; the product never imports it (`pip
install berxit[lab]`)."""
