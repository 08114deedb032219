"""visibility: measure whether neighbourhood officers are visibly on their patch.

The library does the work; the ``visibility`` command is a thin skin over it.
"""

__version__ = "0.1.0"
