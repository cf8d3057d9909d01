"""Who did what, to which row, under which rule and why."""
