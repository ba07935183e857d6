"""What the command line shows while a long step runs: a live line per step (rich), then its outcome.

The CLI sets the mode once (``configure``): ``quiet`` shows nothing, ``normal`` a spinner with the
step, its elapsed time and DuckDB's own progress of the running query, then one line per finished
step (rows and rows per second for the ingest); ``verbose`` adds a line per input file. Library use
(tests, notebooks, the Prefect server) leaves it ``off``. Lines hold counts, file names and table
names only, never patient data. Output goes to stderr, so a command's stdout stays its result.
"""
from __future__ import annotations

import functools
import threading
import time
from contextlib import contextmanager
from typing import Callable, Iterator

MODES = ("off", "quiet", "normal", "verbose")
_mode = "off"
_console = None
_live_step = None  # (rich Progress, task id, label) of the step shown live now, for detail()


def configure(mode: str) -> None:
    global _mode, _console
    if mode not in MODES:
        raise ValueError(f"unknown progress mode {mode!r}; one of {', '.join(MODES)}")
    _mode = mode
    _console = None


def mode() -> str:
    return _mode


def _shown() -> bool:
    return _mode in ("normal", "verbose")


def console():
    """The rich console on stderr (made on first use, so a fresh one follows a redirected stderr)."""
    global _console
    if _console is None:
        from rich.console import Console
        _console = Console(stderr=True, highlight=False)
    return _console


def say(text: str, *, verbose_only: bool = False) -> None:
    """One line of progress text (nothing in quiet/off mode; verbose_only lines only with --verbose)."""
    if _shown() and (_mode == "verbose" or not verbose_only):
        console().print(text, markup=False, soft_wrap=True)


@contextmanager
def step(label: str, con=None) -> Iterator[dict]:
    """Show ``label`` live with the elapsed time (and the DuckDB query's percent done when ``con`` is
    given) until the block ends; then print ``label`` with what the block put in ``outcome['text']``."""
    outcome: dict = {"text": ""}
    if not _shown():
        yield outcome
        return
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    started = time.perf_counter()
    bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(bar_width=24),
                   TextColumn("{task.percentage:>3.0f}% of the current query"), TimeElapsedColumn(),
                   console=console(), transient=True)
    task = bar.add_task(label, total=100)
    global _live_step
    _live_step = (bar, task, label)
    stop = threading.Event()

    def poll() -> None:  # DuckDB reports the running query's progress; -1 when none is running
        while not stop.wait(0.25):
            try:
                done = con.query_progress()
            except Exception:  # the connection is busy closing or gone: nothing to show
                return
            if done is not None and done >= 0:
                bar.update(task, completed=done)

    poller = None
    if con is not None:
        try:  # DuckDB tracks a query's progress only with its progress bar on (printing stays off)
            con.execute("SET enable_progress_bar = true; SET enable_progress_bar_print = false")
            poller = threading.Thread(target=poll, daemon=True)
        except Exception:
            poller = None
    failed = True
    live = console().is_terminal  # a log file or pipe gets the finished lines only, no redrawn spinner
    if live:
        bar.start()
        if poller:
            poller.start()
    try:
        yield outcome
        failed = False
    finally:
        _live_step = None
        stop.set()
        if live:
            if poller:
                poller.join()
            bar.stop()
    seconds = time.perf_counter() - started
    if failed:
        console().print(f"[red]x[/red] {label}: failed after {seconds:.1f} s", highlight=False, soft_wrap=True)
    else:
        text = f": {outcome['text']}" if outcome["text"] else ""
        console().print(f"[green]✓[/green] {label} ({seconds:.1f} s){text}", highlight=False, soft_wrap=True)
    for line in outcome.get("details", ()):
        say(f"    {line}", verbose_only=True)


def detail(text: str) -> None:
    """Name what the running step is doing now (the file being read, the engine at work) on its live line;
    with --verbose also as a line of its own."""
    if _live_step is not None:
        bar, task, label = _live_step
        bar.update(task, description=f"{label}: {text}")
    say(f"    {text}", verbose_only=True)


def _rate(rows: int, seconds: float) -> str:
    return f"{rows / seconds:,.0f} rows/s" if seconds > 0 else "-"


def describe(result, seconds: float) -> tuple[str, list[str]]:
    """One line (and per-item detail lines) for what a step returned: ingest results or row counts."""
    if isinstance(result, list) and result and hasattr(result[0], "input_rows"):
        rows = sum(r.input_rows for r in result)
        rejected = sum(r.rejected_rows for r in result)
        details = [f"{r.source_file}: {r.input_rows:,} rows, {r.rejected_rows:,} rejected" for r in result]
        return (f"{len(result)} file(s), {rows:,} rows ({_rate(rows, seconds)} overall), {rejected:,} rejected",
                details)
    if isinstance(result, dict) and result and all(isinstance(v, int) for v in result.values()):
        return ", ".join(f"{name} {rows:,}" for name, rows in result.items()), []
    if isinstance(result, dict) and not result:
        return "skipped", []
    rows = getattr(result, "rows", None)
    if isinstance(rows, dict):
        return f"{len(rows)} table(s), {sum(rows.values()):,} rows", []
    return "", []


def reported(label: str | Callable) -> Callable:
    """Decorate a period step ``step(run, ...)``: show it live while it runs and its outcome after.
    ``label`` is text or a function of the run (e.g. naming the files being read)."""
    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(run, *args, **kwargs):
            text = label(run) if callable(label) else label
            started = time.perf_counter()
            with step(text, getattr(run, "con", None)) as outcome:
                result = fn(run, *args, **kwargs)
                outcome["text"], outcome["details"] = describe(result, time.perf_counter() - started)
            return result
        return wrapper
    return decorate
