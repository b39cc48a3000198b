"""berxit's command-line entry points: each parses its arguments and calls the library."""
