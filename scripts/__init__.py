"""berxit's command-line tools and the data they read."""
