"""The one exception type users see: a message that names the problem and the fix."""


class EdgeSdkError(Exception):
    """Bad input or a failed step; `str(err)` is meant for people (the CLI prints it and exits non-zero)."""
