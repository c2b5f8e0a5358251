"""`pbt-track serve`: one workdir's population as a web page that keeps itself up to date, read-only.

`population` holds what the page shows of a record in memory (each policy's
lives as growing arrays, `series`), `follow` brings it up to date from the
rows newer than the ones it holds, and `marks` places the chart's marks on
it. `chart`, `ticks` and `lineage` draw SVG on the server, `page`, `tables`
and `experiment` write HTML, `updates` answers a page's poll with what
changed since it last asked, and `server` is the standard library's HTTP
server around them; `static/` holds the page's script and style sheet.
Nothing here writes the record or asks a scheduler.
"""
