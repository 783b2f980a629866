"""User-facing errors.

Anything a user can cause (a bad path, a malformed file, a wrong config value) raises a subclass of
`KganError` with a message that names the file or key and what was expected. The CLI prints these
without a traceback and exits with status 2; everything else is a bug and keeps its traceback.
"""


class KganError(Exception):
    """Base class for errors caused by user input."""


class UsageError(KganError):
    """A command-line option is out of its range (the message names the option)."""


class ConfigError(KganError):
    """A config file or value is invalid (the message names the key path)."""


class DataError(KganError):
    """A data source is missing, malformed or empty (the message names the file)."""


class CheckpointError(KganError):
    """A run directory or checkpoint is missing or unreadable."""


class OutputError(KganError):
    """An output directory cannot be written (read-only, a file in the way, ...)."""


class ExportError(KganError):
    """An export could not be written (bad name, unwritable base path, ...)."""


class TrainingDivergedError(KganError):
    """Training kept producing non-finite losses after the configured number of restores."""


class WorkerError(KganError):
    """A worker of a multi-worker job failed (the job stops; rerunning it resumes from the last checkpoint)."""
