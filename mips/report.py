"""The static HTML score report: one self-contained page per TIN (a section per clinician).

Charts are Vega-Lite specifications made with Altair and rendered to SVG offline by vl-convert
(no JavaScript, no network when the page is opened); the page is a Jinja2 template
(mips/templates/report.html.j2). The numbers come from transforms.report_data.
"""
from __future__ import annotations

import math
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"


def _svg(chart) -> str:
    import vl_convert as vlc

    return vlc.vegalite_to_svg(chart.to_json())


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def fmt(value, places: int = 2) -> str:
    return "" if _missing(value) else f"{value:,.{places}f}"


def pct(value) -> str:
    return "" if _missing(value) else f"{value:+.3f}%"


def adjustment(row) -> str:
    """The payment adjustment as the rules allow it to be stated: a range where a factor is not published, marked
    as an estimate where a factor comes from a secondary source, a plain number only when it is one."""
    get = row.get if hasattr(row, "get") else (lambda k: getattr(row, k, None))
    basis, value = get("payment_adjustment_basis"), get("payment_adjustment_percent")
    low, high = get("payment_adjustment_low_percent"), get("payment_adjustment_high_percent")
    if basis == "range" or (_missing(value) and not _missing(low)):
        return f"{low:+.3f}% to {high:+.3f}% (range: scaling factor not published)"
    if _missing(value):
        return ""
    return f"~{value:+.3f}% (estimate)" if basis == "estimate" else f"{value:+.3f}%"


def adjustment_usd(row) -> str:
    """Dollars of the adjustment: a range of dollars where the adjustment is a range, an estimate where it is one."""
    get = row.get if hasattr(row, "get") else (lambda k: getattr(row, k, None))
    charges = get("part_b_allowed_charges")
    if get("payment_adjustment_basis") == "range" and not _missing(charges):
        low, high = (charges * get(k) / 100 for k in ("payment_adjustment_low_percent", "payment_adjustment_high_percent"))
        return f"{usd(low)} to {usd(high)}"
    text = usd(get("payment_adjustment_usd"))
    return f"~{text} (estimate)" if get("payment_adjustment_basis") == "estimate" and text != "n/a" else text


def scaling_note(row) -> str:
    """Where the positive adjustment's scaling factor comes from, as the row's basis says."""
    get = row.get if hasattr(row, "get") else (lambda k: getattr(row, k, None))
    basis, factor = get("payment_adjustment_basis"), get("scaling_factor")
    if basis == "range":
        return ("the year's scaling factor is not published, so a positive adjustment is shown as the range of its "
                "possible values (mips run / mips score --scaling-factor gives an exact figure)")
    if basis == "estimate":
        return f"scaling factor {factor:g} from a secondary source, not CMS's published figure: an estimate"
    value = get("payment_adjustment_percent")
    if _missing(factor) or (not _missing(value) and value <= 0):
        return "not applied (the adjustment is not positive)"
    return f"scaling factor {factor:g}"


def usd(value) -> str:
    return "n/a" if _missing(value) else ("-" if value < 0 else "") + f"${abs(value):,.0f}"


def records(frame: pd.DataFrame) -> list[dict]:
    """Rows as dicts with None (not NaN) for missing values, so the page shows blanks."""
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def count(value) -> str:
    return "" if _missing(value) else f"{int(value):,}"


def _charts(scores: pd.DataFrame, group_cats: pd.DataFrame, group_measures: pd.DataFrame, heat: pd.DataFrame,
            rejects: pd.DataFrame, trend: pd.DataFrame) -> dict[str, str]:
    import altair as alt

    threshold = float(scores["performance_threshold"].iloc[0])
    who = scores.assign(entity=[("group (TIN)" if lv == "group" else f"NPI {n}") for lv, n in zip(scores["level"], scores["npi"])])
    bars = alt.Chart(who).mark_bar().encode(
        x=alt.X("final_score:Q", title="final score", scale=alt.Scale(domain=[0, 100])),
        y=alt.Y("entity:N", sort=None, title=None),
        color=alt.condition(alt.datum.final_score >= threshold, alt.value("#1b7a3a"), alt.value("#b3261e")))
    rule = alt.Chart(pd.DataFrame({"t": [threshold]})).mark_rule(color="black", strokeDash=[4, 3]).encode(x="t:Q")
    charts = {"scores": _svg((bars + rule).properties(width=560, height=max(60, 18 * len(who)),
                                                      title=f"Final score; dashed line: performance threshold {threshold:g}"))}
    cats = group_cats.fillna({"final_score_points": 0})
    charts["categories"] = _svg(alt.Chart(cats).mark_bar().encode(
        x=alt.X("sum(final_score_points):Q", title="final-score points (score x weight)", scale=alt.Scale(domain=[0, 100])),
        color=alt.Color("category:N"), tooltip=["category", "score_percent", "weight_percent"]
    ).properties(width=560, height=40, title="What each category adds to the group's final score"))
    charts["deciles"] = decile_chart(group_measures)
    if heat.empty:
        charts["heatmap"] = "<p>No clinician-level measure results.</p>"
    else:
        base = alt.Chart(heat.assign(npi="NPI " + heat["npi"])).encode(
            x=alt.X("measure_id:N", title="measure"), y=alt.Y("npi:N", title=None))
        charts["heatmap"] = _svg((base.mark_rect().encode(
            color=alt.Color("data_completeness_percent:Q", title="data completeness %",
                            scale=alt.Scale(domain=[0, 100], scheme="redyellowgreen")))
            + base.mark_text(fontSize=9).encode(text=alt.Text("data_completeness_percent:Q", format=".0f"))
        ).properties(title="Data completeness % by clinician and measure"))
    charts["rejects"] = "<p>No rows rejected.</p>" if rejects.empty else _svg(alt.Chart(rejects.head(15)).mark_bar().encode(
        x=alt.X("rows_rejected:Q", title="rows rejected"), y=alt.Y("rule:N", sort="-x", title=None),
        color=alt.Color("table_name:N", title="input")).properties(width=480, title="Rejected rows by rule"))
    if len(trend) > 1:
        line = alt.Chart(trend).mark_line(point=True).encode(
            x=alt.X("performance_year:O", title="performance year"),
            y=alt.Y("final_score:Q", title="final score", scale=alt.Scale(domain=[0, 100])))
        limit = alt.Chart(trend).mark_line(strokeDash=[4, 3], color="black").encode(
            x="performance_year:O", y="performance_threshold:Q")
        charts["trend"] = _svg((line + limit).properties(width=480, title="Group final score (dashed: threshold)"))
    else:
        charts["trend"] = ""
    return charts


def decile_chart(measures: pd.DataFrame) -> str:
    """Each benchmarked measure's decile score (0-10) as a bar, the 7-point cap marked on topped-out ones."""
    import altair as alt

    rated = measures[measures["decile_score"].notna()].copy()
    if rated.empty:
        return "<p>No measure reached a benchmark decile (no benchmark, or below data completeness or case minimum).</p>"
    rated["measure"] = rated["measure_id"] + rated["stratum"].fillna("").map(lambda s: f" ({s})" if s else "")
    rated["mark"] = rated["topped_out"].map(lambda t: "topped out: capped at 7" if t else "not topped out")
    bars = alt.Chart(rated).mark_bar().encode(
        x=alt.X("decile_score:Q", title="decile score (decile + part of the next)", scale=alt.Scale(domain=[0, 10])),
        y=alt.Y("measure:N", sort=None, title=None),
        color=alt.Color("mark:N", title=None, scale=alt.Scale(domain=["not topped out", "topped out: capped at 7"],
                                                              range=["#3a6ea5", "#e08a1e"])),
        tooltip=["measure", "title", "performance_rate", "decile", "achievement_points"])
    cap = alt.Chart(rated[rated["topped_out"]]).mark_tick(color="black", thickness=2).encode(
        x=alt.datum(7), y=alt.Y("measure:N", sort=None))
    return _svg((bars + cap).properties(width=520, height=max(40, 18 * len(rated)),
                                        title="Benchmark decile of each quality measure (black tick: 7-point cap)"))


def render_tin(con, performance_year: int, tin: str, *, version: str) -> str:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    from transforms import report_data as data

    py = int(performance_year)
    scores = data.final_scores(con, py, tin)
    cats = data.categories(con, py, tin)
    measures = data.measures_with_what_if(con, py, tin)
    heat = data.completeness_matrix(con, py, tin)
    rejects = data.rejects_by_rule(con, py) if _has(con, "rejects") else pd.DataFrame(
        columns=["table_name", "rule", "rows_rejected"])
    trend = data.trend(con, tin)
    group_rows = scores[scores["level"] == "group"]
    group = (group_rows if not group_rows.empty else scores).iloc[0]
    group_cats = cats[cats["level"] == group["level"]]
    if group["level"] == "group":
        group_cats = group_cats[group_cats["npi"].isna()]
    group_measures = measures[measures["level"] == "group"]
    clinicians = []
    for _, row in scores[scores["level"] == "individual"].iterrows():  # one section per clinician (tens, not rows)
        mine = measures[(measures["level"] == "individual") & (measures["npi"] == row["npi"])]
        clinicians.append({**row.to_dict(), "measures": records(mine),
                           "categories": records(cats[(cats["level"] == "individual") & (cats["npi"] == row["npi"])]),
                           "chart": decile_chart(mine)})
    individuals = scores[scores["level"] == "individual"]["payment_adjustment_usd"]
    eligibility = data.eligibility(con, py, tin)
    pooled = data.pooled_entities(con, py, tin)
    mvps = data.mvp_participants(con, py, tin)
    unconfirmed = data.unconfirmed_rules(con, py, tin)
    env = Environment(loader=FileSystemLoader(TEMPLATE_DIR), autoescape=select_autoescape(["html", "j2"]))
    env.globals.update(fmt=fmt, pct=pct, usd=usd, count=count, adjustment=adjustment, adjustment_usd=adjustment_usd)
    return env.get_template("report.html.j2").render(
        py=py, tin=tin, group=group, entities=records(scores), group_categories=records(group_cats),
        group_measures=records(group_measures), rejects=records(rejects),
        clinicians=clinicians, trend_years=len(trend), version=version,
        individuals_usd=usd(individuals.sum()) if individuals.notna().any() else "n/a",
        scaling_note=scaling_note(group), eligibility=records(eligibility), pooled=records(pooled),
        mvps=records(mvps), unconfirmed=records(unconfirmed),
        made=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        charts=_charts(scores, group_cats, group_measures, heat, rejects, trend))


def _has(con, name: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM duckdb_views() WHERE view_name = ?", [name]).fetchone()[0])
