"""Reports shared by every subcommand: JSON written atomically (no half-written file on an error)."""
from __future__ import annotations

import json
import os
from pathlib import Path


def write_json(obj: dict, path: str | Path | None) -> None:
    if not path:
        return
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(obj, indent=2) + "\n")
    os.replace(tmp, path)
