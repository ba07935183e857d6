"""Scheduled runs on a Prefect server: nightly for the current performance year, monthly for the
prior year during the submission window (January to March), both served by this process."""
from __future__ import annotations

from prefect import serve
from prefect.deployments.runner import EntrypointType
from prefect.schedules import Cron

from flows.period import period_flow

NIGHTLY_CRON = "0 2 * * *"           # 02:00 every night
PRIOR_YEAR_CRON = "0 3 1 1-3 *"      # 03:00 on the 1st of January, February and March (submission window)
NIGHTLY_NAME = "nightly-current-year"
PRIOR_YEAR_NAME = "monthly-prior-year"


def build_deployments(*, input_dir: str, output: str, nightly_cron: str = NIGHTLY_CRON,
                      prior_year_cron: str = PRIOR_YEAR_CRON, timezone: str = "UTC",
                      levels: list[str] | None = None, max_rejected_percent: float = 5.0,
                      default_tin: str | None = None, default_npi: str | None = None) -> list:
    """The two deployments of ``period_flow``. The year is resolved when each run starts
    (``years_before_current`` 0 or 1), so a server left running over New Year follows the calendar."""
    common = {"input_dir": input_dir, "output": output, "max_rejected_percent": max_rejected_percent}
    if levels:
        common["levels"] = list(levels)
    # the TIN/NPI of EHR encounters (an input folder's fhir/ or clinical/) that name neither
    common.update({k: v for k, v in (("default_tin", default_tin), ("default_npi", default_npi)) if v})
    made = []
    for name, cron, years_before, what in (
            (NIGHTLY_NAME, nightly_cron, 0, "the current performance year, every night"),
            (PRIOR_YEAR_NAME, prior_year_cron, 1, "the prior performance year, monthly in the submission window")):
        made.append(period_flow.to_deployment(
            name=name, schedules=[Cron(cron, timezone=timezone)],
            parameters={**common, "years_before_current": years_before},
            description=f"MIPS pipeline for {what} (cron '{cron}', {timezone}).", tags=["mips"],
            entrypoint_type=EntrypointType.MODULE_PATH))
    return made


def serve_schedules(**options) -> None:
    """Register the deployments with the server at PREFECT_API_URL and run their flow runs until stopped."""
    serve(*build_deployments(**options), limit=1)  # one run at a time: runs of a period must not overlap anyway
