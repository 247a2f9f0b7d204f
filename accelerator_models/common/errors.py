"""The one exception type of the NPU models: a message that names the problem and the fix."""


class ModelError(Exception):
    """Bad hardware description, impossible workload or an infeasible schedule; `str(err)` is for people."""
