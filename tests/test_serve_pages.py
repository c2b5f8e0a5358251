"""The HTML and SVG `pbt-track serve` writes, from literal records: what a page holds, escaped, and what a poll adds."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree
from datetime import datetime, timezone

from pbt_tracker.report.rows import ReportRow
from pbt_tracker.serve.chart import LEFT, PLOT_HEIGHT, PLOT_WIDTH, TOP, chart_svg, frames, transform
from pbt_tracker.serve.lineage import lineage_html
from pbt_tracker.serve.marks import marks_of
from pbt_tracker.serve.population import FeedItem, Population
from pbt_tracker.serve.tables import TableRow, feed_html, table_html
from pbt_tracker.serve.ticks import number_axis, time_axis
from pbt_tracker.serve.updates import parse_cursor, updates
from pbt_tracker.store.serve import ChangeRow, DecisionRow
from tests.test_serve_model import T0, held_for_marks, population, row

SVG = "{http://www.w3.org/2000/svg}"


def placed(held: Population) -> Population:
    """What a refresh does after reading: the marks placed and the axes chosen."""
    held.marks = [mark for policy in held.policies.values() for mark in marks_of(policy)]
    held.frames = frames(held)
    return held


def svg_of(text: str) -> ElementTree.Element:
    return ElementTree.fromstring(text)  # also proves the SVG well-formed: everything in it was escaped


def test_the_iteration_chart_draws_each_life_in_data_units_and_each_mark_in_pixels_with_its_sentence():
    held = placed(held_for_marks())
    svg = svg_of(chart_svg("iteration", held, held.frames["iteration"], held.marks))
    paths = {path.get("id"): (path.get("d"), path.get("stroke"), path.get("vector-effect"))
             for path in svg.iter(f"{SVG}path") if path.get("class") == "line"}
    assert paths == {
        "iteration-1-1": ("M1 10L2 20L3 30L4 40", "#1f77b4", "non-scaling-stroke"),
        "iteration-1-2": ("M1 5", "#1f77b4", "non-scaling-stroke"),
        "iteration-2-1": ("M1 11L2 12", "#ff7f0e", "non-scaling-stroke"),
    }
    [lines] = [group for group in svg.iter(f"{SVG}g") if group.get("class") == "lines"]
    assert lines.get("transform") == transform(held.frames["iteration"])
    marks = [(group.get("class"), group.find(f"{SVG}title").text) for group in svg.iter(f"{SVG}g")
             if (group.get("class") or "").startswith("mark ")]
    assert marks == [
        ("mark replacement", "policy 0 took policy 1's weights after iteration 3"),
        ("mark restart", "policy 0 restarted from scratch: life 2 (b)"),
        ("mark attempt", "policy 0 resumed as attempt 2"),
        ("mark crash", "policy 0: attempt 1 ended FAILED (exit 3)"),
        ("mark cancel", "policy 1: attempt 1 ended CANCELLED"),
    ]
    [donor] = [text.text for text in svg.iter(f"{SVG}text") if text.get("font-size") == "10"]
    assert donor == "1"
    frame = held.frames["iteration"]
    assert (frame.x.low, frame.x.high, frame.y.low, frame.y.high) == (1, 4, 0.0, 40.0)
    [restart] = [group for group in svg.iter(f"{SVG}g") if group.get("class") == "mark restart"]
    circle = restart.find(f"{SVG}circle")
    assert (float(circle.get("cx")), float(circle.get("cy"))) == (LEFT, TOP + PLOT_HEIGHT * 7 / 8)
    [crash] = [group for group in svg.iter(f"{SVG}g") if group.get("class") == "mark crash"]
    assert crash.find(f"{SVG}path").get("d").startswith(f"M{LEFT + PLOT_WIDTH / 3 - 5:.1f} {TOP + PLOT_HEIGHT / 2 - 5:.1f}")


def test_the_time_chart_counts_seconds_from_its_origin_and_labels_its_axis_in_utc():
    held = placed(held_for_marks())
    frame = held.frames["time"]
    assert frame.origin == held.time_origin == (T0 + 10) // 60 * 60
    svg = svg_of(chart_svg("time", held, frame, held.marks))
    [path] = [path for path in svg.iter(f"{SVG}path") if path.get("id") == "time-2-1"]
    assert path.get("d") == f"M{T0 + 10 - frame.origin:.0f} 11L{T0 + 20 - frame.origin:.0f} 12"
    [resumed] = [path for path in svg.iter(f"{SVG}path") if path.get("id") == "time-1-1"]
    assert T0 % 60 == 0 and resumed.get("d") == "M10 10L20 20M60 30L70 40"  # a gap while attempt 1 lay crashed
    labels = [text.text for text in svg.iter(f"{SVG}text") if text.get("y") == str(TOP + PLOT_HEIGHT + 15)]
    assert labels[0] == datetime.fromtimestamp(frame.x.low, timezone.utc).strftime("%H:%M:%S")


def test_names_from_the_record_are_escaped_in_the_svg_the_table_and_the_feed():
    held = population(0)
    held.policies[1].label = 'policy <b onclick="x()">&'
    held.add_history([row(1, 0, 1, 1.0), row(2, 0, 2, 2.0, life="<i>")])
    placed(held)
    svg = chart_svg("iteration", held, held.frames["iteration"], held.marks)
    assert "<b onclick" not in svg and "&lt;b onclick=&quot;x()&quot;&gt;&amp;" in svg
    assert svg_of(svg).find(f"{SVG}g") is not None
    name = "<script>alert(1)</script>"
    report = ReportRow("run", name, 1, "17", "FAILED", 3, None, "n<1>", None, None, 1, "slurm", None, None, None,
                       pbt_policy=0, pbt_iteration=4, pbt_objective=0.5, pbt_best_objective=0.75)
    table = table_html([TableRow(9, report, True, {"action": "resume", "reason": "<why>", "decided_at": "t"})], 0)
    assert "<script>" not in table and "&lt;script&gt;alert(1)&lt;/script&gt;" in table and "n&lt;1&gt;" in table
    assert "&lt;why&gt;" in table
    change = ChangeRow(3, "2027-01-15 08:00:00.5", 9, name, 1, "17", "FAILED", 3, "<detail>")
    feed = feed_html([FeedItem(1, change.observed_at, "change", change)], 0)
    assert "<script>" not in feed and "&lt;detail&gt;" in feed


def test_the_table_marks_the_best_and_gives_each_cell_the_value_it_sorts_by():
    best = ReportRow("run", "03_toy", 1, "7", "COMPLETED", 0, None, "vm", None, None, 1, "processes", None, None, None,
                     pbt_policy=3, pbt_iteration=10, pbt_objective=99.77, pbt_best_objective=99.88,
                     pbt_params={"toy.learning_rate": 0.02})
    other = best._replace(experiment="02_toy", pbt_policy=2, pbt_objective=None, state="FAILED", exit_code=3,
                          exit_signal=9)
    table = ElementTree.fromstring(table_html([TableRow(4, best, True, None), TableRow(3, other, False, None)], 0)).find("table")
    heads = [head.text for head in table.iter("th")]
    assert heads == ["policy", "experiment", "state", "attempt", "job", "exit", "node", "iteration", "objective",
                     "best", "params", "keeper's last decision"]
    first, second = table.find("tbody").findall("tr")
    assert first.get("class") == "best" and second.get("class") == ""
    assert "".join(first.find("td").itertext()) == "3 \u2605 best"
    assert [cell.get("data-sort") for cell in first.findall("td")] == [
        "3", "03_toy", "COMPLETED", "1", "7", "0", "vm", "10", "99.77", "99.88", "learning_rate=0.02", ""]
    assert [cell.text for cell in second.findall("td")][5:9] == ["3:9", "vm", "10", "-"]
    assert first.find("td/a").get("href") == "experiment?w=0&id=4"


def test_the_feed_lists_decisions_and_state_changes_newest_first():
    held = Population()
    held.add_feed([("2027-01-15 08:00:02", "decision", DecisionRow(1, "2027-01-15 08:00:02", "02_toy", 1, "resume",
                                                                   "attempt 1 ended FAILED", "attempt 2 submitted")),
                   ("2027-01-15 08:00:01", "change", ChangeRow(5, "2027-01-15 08:00:01", 3, "02_toy", 1, "99",
                                                               "FAILED", 3, None))])
    items = ElementTree.fromstring(f"<ul>{feed_html(list(held.feed), 0)}</ul>").findall("li")
    assert ["".join(item.itertext()) for item in items] == [
        "2027-01-15T08:00:02Z keeper resume 02_toy attempt 1: attempt 1 ended FAILED \u2192 attempt 2 submitted",
        "2027-01-15T08:00:01Z 02_toy attempt 1, job 99: FAILED (exit 3)",
    ]


def test_the_lineage_draws_a_stroke_from_donor_to_taker_and_lists_it_with_its_time():
    held = placed(held_for_marks())
    text = lineage_html(held)
    svg = svg_of(text[:text.index("</svg>") + 6])
    [handover] = [group for group in svg.iter(f"{SVG}g") if group.get("class") == "lane-mark handover"]
    assert (handover.get("data-taker"), handover.get("data-donor")) == ("0", "1")
    assert handover.find(f"{SVG}title").text == "policy 0 took policy 1's weights after iteration 3"
    listed = ElementTree.fromstring(text[text.index("</svg>") + 6:])
    assert ["".join(item.itertext()) for item in listed.findall("li")] == [
        datetime.fromtimestamp(T0 + 60, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        + " policy 0 took policy 1's weights after iteration 3"]


def test_a_poll_gets_the_new_points_to_append_new_lines_whole_and_new_axes_when_they_moved():
    held = placed(population(0, 1))
    held.add_history([row(1, 0, 1, 10.0), row(2, 0, 2, 20.0)])
    placed(held)
    held.view = 1
    cursor = parse_cursor(held.cursor)
    assert updates(held, cursor, 0) == {"cursor": held.cursor, "status": updates(held, cursor, 0)["status"]}
    held.add_history([row(3, 0, 3, 30.0), row(4, 1, 1, 15.0)])
    placed(held)
    held.view = 2  # the axes moved: iteration 3 is past the last tick
    answer = updates(held, cursor, 0)
    iteration = answer["charts"]["iteration"]
    assert iteration["grow"] == [["iteration-1-1", "L3 30"]]
    assert [ElementTree.fromstring(path).get("id") for path in iteration["new"]] == ["iteration-2-1"]
    assert iteration["transform"] == transform(held.frames["iteration"]) and "axes" in iteration and "marks" in iteration
    assert set(answer) == {"cursor", "status", "charts", "lineage", "legend"}
    json.dumps(answer)  # as the page gets it


def test_a_page_whose_charts_cannot_be_extended_gets_them_whole_and_an_unreadable_cursor_gets_everything():
    held = placed(population(0))
    held.add_history([row(1, 0, 1, 10.0)])
    placed(held)
    stale = parse_cursor(held.cursor)._replace(frame=held.frame - 1)
    assert ElementTree.fromstring(updates(held, stale, 0)["charts"]["time"]["svg"]).get("id") == "chart-time"
    assert set(updates(held, parse_cursor("not a cursor"), 0)) == {"cursor", "status", "table", "charts", "lineage",
                                                                   "legend"}


def test_axes_end_on_round_numbers_and_times_on_whole_steps():
    axis = number_axis(1, 10, integer=True)
    assert (axis.low, axis.high, [label for _value, label in axis.ticks]) == (0, 10, ["0", "2", "4", "6", "8", "10"])
    assert [label for _value, label in number_axis(0.013, 0.0475).ticks] == ["0.01", "0.02", "0.03", "0.04", "0.05"]
    assert [label for _value, label in number_axis(0, 0.14).ticks] == [
        "0", "0.025", "0.050", "0.075", "0.100", "0.125", "0.150"]
    assert number_axis(None, None)[:2] == (0.0, 1.0)
    assert [label for _value, label in number_axis(5.0, 5.0).ticks] == ["4.4", "4.6", "4.8", "5.0", "5.2", "5.4", "5.6"]
    start = datetime(2027, 1, 15, 8, 0, 7, tzinfo=timezone.utc).timestamp()
    axis = time_axis(start, start + 3000)
    assert [label for _value, label in axis.ticks] == ["08:00", "08:10", "08:20", "08:30", "08:40", "08:50", "09:00"]
    days = time_axis(start, start + 3 * 86400)
    assert days.ticks[0][1] == "01-15 00:00"
