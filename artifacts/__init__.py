"""What berxit leaves on disk: files written atomically, the run folder and its record, and the Hub export."""
