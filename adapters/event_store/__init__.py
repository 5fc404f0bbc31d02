"""The event store's persistence techniques: how events reach the database, kept out of the domain."""
