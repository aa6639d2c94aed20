"""Exceptions of the sources package."""


class SourceError(Exception):
    """The whole file cannot be read at all (missing, a directory, no permission).

    Anything less - a bad line, a corrupt gzip tail, a broken CSV header - is
    reported as Records with ``error`` set, never as an exception.
    """
