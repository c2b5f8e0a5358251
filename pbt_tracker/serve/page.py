"""The population page: the table, both charts and their legend, the lineage, the feed, and how fresh it all is.

The page is whole HTML at its first load, so that it reads the same with
scripts off and so that `chromium --dump-dom` sees what a person sees; its
script (static/page.js) then asks for what changed every few seconds.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from pbt_tracker.serve.chart import CHARTS, symbol, whole_chart
from pbt_tracker.serve.lineage import lineage_html
from pbt_tracker.serve.marks import KINDS, LEGEND
from pbt_tracker.serve.population import Population
from pbt_tracker.serve.tables import feed_html, table_html
from pbt_tracker.store.times import iso_text

if TYPE_CHECKING:
    from pbt_tracker.serve.follow import Workdir

__all__ = ["POLL_MILLISECONDS", "document", "legend_html", "page_html", "status_html"]

POLL_MILLISECONDS = 2000
_LEGEND_POLICIES = 16  # as plot: more policies than this get no legend entry each


def document(title: str, body: str, attributes: str = "") -> str:
    """A page around `body`; the script and the style sheet come from this package, nothing from elsewhere."""
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{escape(title)}</title><link rel="stylesheet" href="static/page.css">'
            f'<script src="static/page.js" defer></script></head><body{attributes}>{body}</body></html>\n')


def _tabs(workdirs: list[Workdir], current: int) -> str:
    if len(workdirs) < 2:
        return ""
    links = "".join(f'<a href="./?w={workdir.index}"' + (' aria-current="page"' if workdir.index == current else "")
                    + f'>{escape(workdir.path.name or str(workdir.path))}</a>' for workdir in workdirs)
    return f'<nav class="workdirs">{links}</nav>'


def status_html(population: Population) -> str:
    """When the record last changed and the scheduler last answered: serve itself never syncs."""
    changed, answered = population.synced.changed, population.synced.answered
    parts = [f"record last changed <time>{_when(changed)}</time>"]
    if answered:
        parts.append(f"the scheduler last answered a sync at <time>{_when(answered)}</time>")
    return ("; ".join(parts) + ". This page only reads the record: `pbt-track watch`, `report` or `sync` "
            "bring it up to date.")


def _when(text: str | None) -> str:
    return "never" if not text else escape(iso_text(text) or "-")


def legend_html(population: Population) -> str:
    policies = list(population.policies.values())
    if len(policies) <= _LEGEND_POLICIES:
        items = "".join(f'<li><span class="swatch"><svg viewBox="0 0 20 10" width="20" '
                        f'height="10"><line x1="0" y1="5" x2="20" y2="5" stroke="{policy.colour}" stroke-width="3"/>'
                        f'</svg></span>{escape(policy.label)}</li>' for policy in policies)
    else:
        items = f"<li>{len(policies)} policies, one colour each (hover over a line or a mark to see whose)</li>"
    kinds = "".join(f'<li class="kind-{kind}"><svg viewBox="0 0 16 16" width="16" height="16">{symbol(kind, 8, 8)}'
                    f'</svg>{escape(LEGEND[kind])}</li>' for kind in KINDS)
    return f'<ul class="legend policies">{items}</ul><ul class="legend kinds">{kinds}</ul>'


def page_html(workdirs: list[Workdir], workdir: Workdir) -> str:
    population = workdir.population
    index = workdir.index
    charts = "".join(f'<figure><figcaption>{escape(caption)}</figcaption><div class="chart-box" data-chart="{kind}">'
                     f'{whole_chart(kind, population)}</div></figure>'
                     for kind, caption in CHARTS.items())
    body = (
        f'<header><h1>pbt-track serve <span class="workdir">{escape(str(workdir.path))}</span></h1>'
        f'{_tabs(workdirs, index)}<p class="status"><span id="synced">{status_html(population)}</span> '
        '<span id="page-state">Shown as loaded.</span></p></header><main>'
        f'<section id="population-section"><h2>Population</h2>{table_html(population.table or [], index)}</section>'
        f'<section id="charts"><h2>True objective</h2><div id="legend">{legend_html(population)}</div>{charts}</section>'
        f'<section id="lineage-section"><h2>Lineage: who took whose weights</h2>'
        f'<div id="lineage">{lineage_html(population)}</div></section>'
        f'<section id="feed-section"><h2>Keeper decisions and events, newest first</h2>'
        f'<ul id="feed">{feed_html(list(population.feed), index)}</ul></section></main>'
    )
    attributes = (f' data-page="population" data-workdir="{index}" data-cursor="{population.cursor}" '
                  f'data-poll="{POLL_MILLISECONDS}"')
    return document(f"pbt-track: {workdir.path.name or workdir.path}", body, attributes)
