"""The GLUE experiment: its definition as data, and the runner that trains, sweeps and reports it."""
