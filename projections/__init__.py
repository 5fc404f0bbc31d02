"""Read models folded from the event log into SQL tables, and their query functions."""
