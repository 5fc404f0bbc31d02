"""Commands behind the scanner screens (login, scans, mis-scans, overrides), mixed into the application."""


class ScannerCommands:
    """Scanner-side commands of the Cangku application."""
