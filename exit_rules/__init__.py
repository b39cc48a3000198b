"""Exit rules: after each layer, which examples may stop there (a registry of rule classes)."""
