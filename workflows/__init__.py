"""What the commands run, end to end: fine-tune a task, sweep and choose an operating point, export."""
