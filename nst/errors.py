"""The error the library raises for input a person can fix.

Its message is one line meant for the person who gave the input (a UI shows it, the CLI prints
it and exits non-zero); anything else that escapes the library is a bug.
"""


class InputError(ValueError):
    """Bad input (not an image, too large, out-of-range option); `str(error)` says what to do."""
