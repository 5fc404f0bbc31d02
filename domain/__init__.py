"""Cangku's domain: the warehouse's aggregates, their events and the application that commands them."""
