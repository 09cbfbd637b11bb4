"""The command line's own error type."""


class UsageError(Exception):
    """A command-line value or input file that mipshop cannot use; printed without a traceback."""
