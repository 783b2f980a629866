"""The one rule for names that become path components (experiment names, served model names).

A name ends up as `runs/<name>`, `BASE/<name>/<version>`, gallery and evaluation folders, so it
must be exactly one harmless path component: no separators, no `..`, no leading `.` or `-`, not too
long for a file system. TF-free so that config validation and export share it.
"""

import re

MAX_LENGTH = 128
NAME_RE = re.compile(rf"(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9_.-]{{0,{MAX_LENGTH - 1}}}\Z")
RULE = (f"one path component of at most {MAX_LENGTH} letters, digits, '_', '.', '-' "
        "(no path separators, no '..', not starting with '.' or '-')")


def is_valid_name(name) -> bool:
    return isinstance(name, str) and NAME_RE.match(name) is not None
