"""Errors a user sees as one line, with no traceback (the CLI catches these)."""


class PipelineError(Exception):
    """A problem the user can fix; the message is shown as is, so it must hold no patient data."""


class InputFileError(PipelineError):
    """A whole input file cannot be used (unreadable, empty, wrong delimiter, missing column...)."""

    def __init__(self, path, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class RejectionThresholdExceeded(PipelineError):
    """Too many rows of one file were rejected for the run's results to be trusted."""


class PeriodCheckFailed(PipelineError):
    """The inputs do not look like the period being run (claims of another year, no claims measure at all,
    claims of persons the eligibility file does not know): nothing is published unless the user says so."""
