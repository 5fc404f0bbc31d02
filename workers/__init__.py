"""Jobs: Dramatiq actors, the dispatcher that follows the event log (the outbox), and the pull scheduler."""
