// pbt-track serve: keeps a page up to date by asking the server what changed, every few seconds.
// The server sends HTML and SVG it has escaped; this script only puts them in place, sorts the table,
// and appends log text as text. It loads nothing from anywhere but the server that sent the page.
"use strict";

(function () {
  const body = document.body;
  const poll = Number(body.dataset.poll) || 2000;
  const workdir = body.dataset.workdir || "0";
  const SVG_NS = "http://www.w3.org/2000/svg";
  let answered = 0;

  function say(text) {
    const place = document.getElementById("page-state") || document.getElementById("log-state");
    if (place) place.textContent = text;
  }

  function clock() {
    return new Date().toISOString().slice(11, 19) + "Z";
  }

  function svgNodes(markup) {
    const parsed = new DOMParser().parseFromString(`<svg xmlns="${SVG_NS}">${markup}</svg>`, "image/svg+xml");
    return Array.from(parsed.documentElement.childNodes).map((node) => document.importNode(node, true));
  }

  function replaceIn(svg, selector, markup) {
    const old = svg.querySelector(selector);
    const [fresh] = svgNodes(markup);
    if (old && fresh) old.replaceWith(fresh);
  }

  function sortable(table) {
    let column = null;
    let descending = false;
    const heads = Array.from(table.querySelectorAll("thead th"));
    function apply() {
      const numeric = heads[column].dataset.type === "number";
      const rows = Array.from(table.tBodies[0].rows);
      const value = (row) => {
        const cell = row.cells[column];
        const text = cell ? (cell.dataset.sort ?? cell.textContent) : "";
        if (!numeric) return text;
        return text === "" || isNaN(Number(text)) ? null : Number(text);
      };
      rows.sort((a, b) => {
        const x = value(a);
        const y = value(b);
        if (x === y) return 0;
        if (x === null) return 1; // empty cells last, whichever way
        if (y === null) return -1;
        const order = x < y ? -1 : 1;
        return descending ? -order : order;
      });
      rows.forEach((row) => table.tBodies[0].appendChild(row));
      heads.forEach((head, index) => head.setAttribute("aria-sort",
        index === column ? (descending ? "descending" : "ascending") : "none"));
    }
    heads.forEach((head, index) => {
      head.addEventListener("click", () => {
        descending = column === index ? !descending : head.dataset.type === "number";
        column = index;
        apply();
      });
    });
    table.resort = () => { if (column !== null) apply(); };
  }

  function applyChart(kind, change) {
    const box = document.querySelector(`.chart-box[data-chart="${kind}"]`);
    if (!box) return;
    if (change.svg !== undefined) {
      box.innerHTML = change.svg;
      return;
    }
    const svg = box.querySelector("svg");
    if (change.axes) replaceIn(svg, "g.axes", change.axes);
    if (change.marks) replaceIn(svg, "g.marks", change.marks);
    const lines = svg.querySelector("g.lines");
    if (change.transform) lines.setAttribute("transform", change.transform);
    for (const [id, tail] of change.grow || []) {
      const path = document.getElementById(id);
      if (path) path.setAttribute("d", path.getAttribute("d") + tail);
    }
    for (const markup of change.new || []) svgNodes(markup).forEach((node) => lines.appendChild(node));
  }

  function population() {
    let cursor = body.dataset.cursor;
    const table = document.getElementById("population");
    const feed = document.getElementById("feed");
    if (table) sortable(table);
    function apply(answer) {
      cursor = answer.cursor;
      body.dataset.cursor = cursor;
      document.getElementById("synced").innerHTML = answer.status;
      if (answer.table !== undefined && table) {
        table.tBodies[0].innerHTML = answer.table;
        table.resort();
      }
      if (answer.feed) {
        feed.insertAdjacentHTML("afterbegin", answer.feed);
        while (feed.children.length > 200) feed.lastElementChild.remove();
      }
      if (answer.lineage !== undefined) document.getElementById("lineage").innerHTML = answer.lineage;
      if (answer.legend !== undefined) document.getElementById("legend").innerHTML = answer.legend;
      for (const [kind, change] of Object.entries(answer.charts || {})) applyChart(kind, change);
      const changed = Object.keys(answer).some((key) => key !== "cursor" && key !== "status");
      if (changed) body.dataset.updates = String(Number(body.dataset.updates || 0) + 1);
    }
    async function ask() {
      try {
        const response = await fetch(`updates?w=${workdir}&cursor=${encodeURIComponent(cursor)}`, {cache: "no-store"});
        if (response.ok) {
          apply(await response.json());
          answered += 1;
          say(`Up to date at ${clock()} (asked ${answered} times without reloading; ` +
              `${body.dataset.updates || 0} brought changes).`);
        } else {
          say(`The server answered ${response.status} at ${clock()}: ${await response.text()}; asking again.`);
        }
      } catch (error) {
        say(`The server cannot be reached (${clock()}); asking again.`);
      }
      setTimeout(ask, poll);
    }
    setTimeout(ask, poll);
  }

  function experiment() {
    const log = document.getElementById("log");
    const experimentId = body.dataset.experiment;
    let attempt = body.dataset.attempt;
    let offset = body.dataset.offset;
    function append(text, className) {
      const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
      if (className) {
        const span = document.createElement("span");
        span.className = className;
        span.textContent = text;
        log.appendChild(span);
      } else {
        log.appendChild(document.createTextNode(text));
      }
      if (log.textContent.length > 4000000) log.textContent = log.textContent.slice(-2000000);
      if (atBottom) log.scrollTop = log.scrollHeight;
    }
    async function ask() {
      let soon = false;
      try {
        const response = await fetch(`log?w=${workdir}&id=${experimentId}&attempt=${attempt}&offset=${offset}`,
          {cache: "no-store"});
        if (response.ok) {
          const answer = await response.json();
          if (answer.note) append(`\n${answer.note}\n`, "note");
          if (answer.text) append(answer.text);
          soon = answer.text && answer.text.length >= 200000; // more is waiting: ask again at once
          attempt = answer.attempt;
          offset = answer.offset;
          body.dataset.attempt = String(attempt);
          body.dataset.offset = String(offset);
          say(`Following ${answer.state}; asked at ${clock()}.`);
        } else {
          say(`The server answered ${response.status} at ${clock()}; asking again.`);
        }
      } catch (error) {
        say(`The server cannot be reached (${clock()}); asking again.`);
      }
      setTimeout(ask, soon ? 50 : poll);
    }
    setTimeout(ask, poll);
  }

  if (body.dataset.page === "population") population();
  if (body.dataset.page === "experiment") experiment();
})();
