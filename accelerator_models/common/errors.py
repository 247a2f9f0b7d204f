"""The exceptions of the NPU models: a message that names the problem and the fix."""


class ModelError(Exception):
    """Bad hardware description, impossible workload or an infeasible schedule; `str(err)` is for people."""


class Infeasible(ModelError):
    """A schedule's tiles do not fit a buffer: the on-chip buffer, or a unit's local buffer."""
