"""The errors the library raises for user mistakes and bad data.

The command line turns any :class:`VisibilityError` into one line on stderr and
exit code 1. Anything else is a bug and keeps its traceback.
"""


class VisibilityError(Exception):
    """Base class: a problem the user can fix, described in one line."""


class InputFileError(VisibilityError):
    """Raised when an input file is missing, unreadable, empty or has no usable columns."""


class ColumnError(InputFileError):
    """Raised when the columns a file needs cannot be found or are ambiguous."""


class CoordinateError(InputFileError):
    """Raised when a file's coordinates as a whole look wrong (swapped, or projected metres)."""


class BoundaryError(VisibilityError):
    """Raised when ward or station geometry or its fields are unusable."""


class RosterError(VisibilityError):
    """Raised when the roster names unknown wards or officers, or has impossible shifts."""


class PolicyError(VisibilityError):
    """Raised when a policy file or setting is unknown or out of range."""


class StoreError(VisibilityError):
    """Raised when the store is missing, of an unknown version, or not ready for a step."""


class KernelInputError(VisibilityError, ValueError):
    """Raised by a kernel wrapper when its arrays have the wrong dtype, shape or range."""


class StoreBusyError(StoreError):
    """Raised when another process holds the store and the wait (if any) ran out."""


class MemoryLimitError(VisibilityError):
    """Raised when analysis would exceed, or did exceed, its memory limit (``--memory-limit``)."""


class PartitionError(VisibilityError):
    """Raised when a Parquet partition (of an export or a distributed run) is unreadable or inconsistent."""
