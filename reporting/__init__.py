"""Reports of results in the product: markdown tables, the sweep's speed-accuracy plot and the model card."""
