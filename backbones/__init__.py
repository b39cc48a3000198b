"""The encoder families berxit drives one layer at a time: one adapter per family and their registry."""
