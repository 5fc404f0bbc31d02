"""The file imports live in `adapters.imports` (the back office reads uploaded files too); kept here by name for
the CLI's callers."""

from adapters.imports import (  # noqa: F401
    encoding_of,
    import_locations,
    import_skus,
    import_stock,
    kind_of,
    read_rows,
)
