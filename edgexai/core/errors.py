"""User-facing errors: the CLI prints these as one line and exits non-zero, without a traceback."""


class EdgexaiError(Exception):
    """A problem the user can fix (bad input, missing data, wrong file); the message says how."""


class NotAvailableError(EdgexaiError):
    """A feature that is designed but not built yet."""
