// hoist collector dashboard: the charts. A run's timeline (a Gantt chart of
// its phases, from the spans the collector folds as it stores events) and
// the trends across runs, drawn with Observable Plot, which is vendored
// under /static/vendor/ and loaded the first time a chart is drawn. Every
// bar and point is an SVG element that takes the keyboard's focus and,
// hovered or focused, says what it is, when it started, how long it took
// and how it ended. Loaded before app.js, whose helpers (h, stream,
// getJSON, navigate, badge, duration) it uses once the page runs.
"use strict";

const STATUS_COLORS = { SUCCEEDED: "#2da44e", FAILED: "#cf222e", IN_PROGRESS: "#0969da", CANCELED: "#8c959f", SKIPPED: "#8250df" };
const statusColor = (s) => STATUS_COLORS[s] || "#8c959f";
const statusWord = (s) => (s || "").replace("_", " ").toLowerCase();

let plotLoading = null;

// loadPlot loads d3 and Observable Plot from the collector, once: both
// download at once and run in order, Plot after the d3 it uses.
function loadPlot() {
  if (!plotLoading) {
    const load = (src) => new Promise((resolve, reject) => {
      const s = document.createElement("script");
      s.src = src;
      s.async = false;
      s.onload = resolve;
      s.onerror = () => reject(new Error("could not load " + src + " from the collector"));
      document.head.append(s);
    });
    plotLoading = Promise.all([load("/static/vendor/d3.min.js"), load("/static/vendor/plot.umd.min.js")]).then(() => window.Plot);
    plotLoading.catch(() => { plotLoading = null; });
  }
  return plotLoading;
}

// ---- the tooltip ---------------------------------------------------------

let tipEl = null;
let tipKey = null;

function tip() {
  if (!tipEl) {
    tipEl = h("div", { id: "tip", role: "tooltip", hidden: true });
    document.body.append(tipEl);
  }
  return tipEl;
}

function showTip(el, key, lines) {
  const t = tip();
  tipKey = key;
  t.replaceChildren(...lines.map((l, i) => h("div", { class: i === 0 ? "tip-title" : "" }, l)));
  t.hidden = false;
  const r = el.getBoundingClientRect();
  const maxLeft = window.scrollX + document.documentElement.clientWidth - t.offsetWidth - 8;
  t.style.left = Math.max(8, Math.min(r.left + window.scrollX, maxLeft)) + "px";
  t.style.top = r.bottom + window.scrollY + 6 + "px";
}

function hideTip(key) {
  if (key !== undefined && key !== tipKey) return;
  tip().hidden = true;
  tipKey = null;
}

// explain makes el, one bar or point of a chart, focusable and telling:
// hovered or focused it shows lines in the tooltip; key names it across
// redraws, so that a redrawn chart keeps the focus and the tooltip.
function explain(el, key, lines, onActivate) {
  el.setAttribute("tabindex", "0");
  el.setAttribute("aria-label", lines.join("; "));
  el.dataset.key = key;
  el.addEventListener("mouseenter", () => showTip(el, key, lines));
  el.addEventListener("mouseleave", () => hideTip(key));
  el.addEventListener("focus", () => showTip(el, key, lines));
  el.addEventListener("blur", () => hideTip(key));
  if (onActivate) {
    el.addEventListener("click", onActivate);
    el.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); onActivate(); } });
  }
}

// redraw replaces a chart in box, keeping the focus and the tooltip on
// the element of the same key.
function redraw(box, chart) {
  const focused = box.contains(document.activeElement) ? document.activeElement.dataset.key : null;
  const tipped = tipKey;
  box.replaceChildren(chart);
  if (focused) {
    const el = [...box.querySelectorAll("[data-key]")].find((e) => e.dataset.key === focused);
    if (el) el.focus();
  }
  if (tipped && !focused) {
    const el = [...document.querySelectorAll("[data-key]")].find((e) => e.dataset.key === tipped);
    if (el) el.dispatchEvent(new Event("mouseenter"));
    else hideTip(tipped);
  }
}

// decorate is a Plot render transform that hands each element the mark
// drew to each(element, datum), the datum found by the index d3 bound.
function decorate(data, each) {
  return (index, scales, values, dimensions, context, next) => {
    const g = next(index, scales, values, dimensions, context);
    [...g.children].forEach((el, k) => {
      const i = el.__data__ !== undefined ? el.__data__ : index[k];
      if (data[i]) each(el, data[i]);
    });
    return g;
  };
}

function exactTime(t) {
  const d = new Date(t);
  const pad = (n, w = 2) => String(n).padStart(w, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

function seconds(ms) {
  if (ms < 1000) return Math.round(ms) + " ms";
  if (ms < 60000) return (ms / 1000).toFixed(ms < 10000 ? 2 : 1) + " s";
  return Math.floor(ms / 60000) + "m " + ((ms % 60000) / 1000).toFixed(1) + "s";
}

// ---- a run's timeline ----------------------------------------------------

// lane says in which row of the timeline a span goes, and what the row is
// called: a build's steps and push go in rows of their own under it, a
// status check's resources under the check.
function lane(s) {
  switch (s.kind) {
    case "build": return { key: "build/" + s.name, group: 0, label: s.name };
    case "step": {
      const [nums, ...instr] = (s.detail || "").split(" ");
      const index = parseInt(nums, 10) || 0;
      return { key: "step/" + s.name + "/" + index, group: 0, sub: 1 + index, label: "step " + nums + " " + instr.join(" "), under: "build/" + s.name };
    }
    case "push": return { key: "push/" + s.name, group: 0, sub: 1e6, label: "push", under: "build/" + s.name };
    case "test": return { key: "test/" + s.name, group: 1, label: "test " + s.name };
    case "render": return { key: "render", group: 2, label: "render" };
    case "deploy": return { key: "deploy/" + s.name, group: 3, label: "deploy " + s.name };
    case "check": return { key: "check", group: 4, label: "status check" };
    case "resource": return { key: "resource/" + s.name, group: 4, sub: 1, label: s.name, under: "check" };
    case "sync": return { key: "sync/" + s.name, group: 5, label: "sync " + s.name };
    default: return null;
  }
}

function spanTitle(s) {
  switch (s.kind) {
    case "build": return "build " + s.name;
    case "step": return s.name + " step " + s.detail;
    case "push": return "push " + s.name;
    case "resource": return "status check " + s.name;
    case "iteration": return "dev iteration " + s.name;
    default: return s.kind + " " + s.name;
  }
}

// Timeline draws a run's spans, which it is given as the collector sends
// them, growing while the run is live.
class Timeline {
  constructor(box) {
    this.box = box;
    this.spans = new Map();
    this.run = null;
    this.drawn = false;
  }

  update(page) {
    this.run = page.run;
    for (const s of page.spans || []) this.spans.set(s.id, s);
  }

  live() { return !this.run || !this.run.endTime; }

  // rows orders the lanes: by group, each top row followed by its own.
  rows(spans) {
    const lanes = new Map();
    for (const s of spans) {
      const l = lane(s);
      if (!l) continue;
      if (!lanes.has(l.key)) lanes.set(l.key, { ...l, first: s.id });
      else lanes.get(l.key).label = l.label;
    }
    const tops = [...lanes.values()].filter((l) => !l.under).sort((a, b) => a.group - b.group || a.first - b.first);
    const out = [];
    for (const t of tops) {
      out.push(t);
      out.push(...[...lanes.values()].filter((l) => l.under === t.key).sort((a, b) => a.sub - b.sub || a.first - b.first));
    }
    // Parts whose top row has no span (a check's resources when the check
    // started before the collector had the run) go last.
    out.push(...[...lanes.values()].filter((l) => l.under && !lanes.has(l.under)));
    return out;
  }

  async draw() {
    const Plot = await loadPlot();
    if (!this.run || !this.run.startTime) return;
    const t0 = Date.parse(this.run.startTime);
    const now = this.run.endTime ? Date.parse(this.run.endTime) : Math.max(Date.now(), t0);
    const all = [...this.spans.values()];
    const rows = this.rows(all);
    const bars = all.filter((s) => lane(s));
    const iterations = all.filter((s) => s.kind === "iteration");
    const at = (t) => (t - t0) / 1000;
    let end = at(now);
    for (const s of all) end = Math.max(end, at(s.end ? Date.parse(s.end) : now));
    end = Math.max(end, 1);
    // A span too short to see is drawn a few pixels wide.
    const width = Math.max(480, this.box.clientWidth || 900);
    const least = end * 3 / (width - 260);
    const x1 = (s) => at(Date.parse(s.start));
    const x2 = (s) => Math.max(at(s.end ? Date.parse(s.end) : now), x1(s) + least);
    const labels = new Map(rows.map((r) => [r.key, (r.under ? "   " : "") + (r.label.length > 36 ? r.label.slice(0, 35) + "…" : r.label)]));
    const marks = [
      Plot.rectX(iterations, { x1, x2, fill: (s, i) => (i % 2 ? "#eef1f6" : "#f6f8fa"), stroke: "#d0d7de", strokeDasharray: "2,3",
        render: decorate(iterations, (el, s) => this.explainSpan(el, s, t0)) }),
      Plot.text(iterations, { x: x1, text: (s) => "iteration " + s.name, frameAnchor: "top", textAnchor: "start", dx: 3, dy: 3, fill: "#57606a" }),
      Plot.barX(bars, { x1, x2, y: (s) => lane(s).key, fill: (s) => statusColor(s.status), insetTop: 3, insetBottom: 3,
        render: decorate(bars, (el, s) => this.explainSpan(el, s, t0)) }),
    ];
    if (this.live()) marks.push(Plot.ruleX([at(now)], { stroke: "#0969da", strokeDasharray: "4,3" }));
    const chart = Plot.plot({
      width,
      height: Math.max(rows.length, 1) * 24 + 50,
      marginLeft: 250,
      marginTop: iterations.length ? 24 : 10,
      x: { domain: [0, end], label: "seconds since the run started", grid: true },
      y: { domain: rows.map((r) => r.key), axis: null, padding: 0 },
      style: { fontSize: "12px", overflow: "visible" },
      marks: [Plot.axisY({ tickFormat: (k) => labels.get(k), label: null, textAnchor: "start", tickSize: 0, dx: -240 }), ...marks],
    });
    chart.classList.add("timeline-chart");
    redraw(this.box, chart);
    this.chart = chart;
    this.drawn = true;
  }

  explainSpan(el, s, t0) {
    const start = Date.parse(s.start);
    const took = s.end ? seconds(Date.parse(s.end) - start) : "running for " + seconds(Date.now() - start);
    el.classList.add("span", "s-" + s.status);
    Object.assign(el.dataset, { id: s.id, kind: s.kind, name: s.name, start: s.start, end: s.end || "", status: s.status });
    if (s.detail) el.dataset.detail = s.detail;
    const lines = [
      spanTitle(s),
      "status: " + statusWord(s.status) + (s.detail && s.kind !== "step" ? " (" + s.detail + ")" : ""),
      "started: " + exactTime(start) + " (+" + seconds(start - t0) + ")",
      "duration: " + took,
      "events " + s.from + "–" + s.to,
    ];
    explain(el, "span-" + s.id, lines);
  }
}

// ---- trends across runs --------------------------------------------------

const TREND_SECTIONS = [
  { kind: "build", title: "Builds", what: "build time of each image" },
  { kind: "deploy", title: "Deploys", what: "deploy time of each deployer" },
  { kind: "resource", title: "Status checks", what: "time each workload took to be ready" },
];

function trendsPage() {
  const params = new URLSearchParams(location.search);
  const dir = h("select", { "aria-label": "working directory", name: "dir" }, h("option", { value: "" }, "any working directory"));
  const command = h("select", { "aria-label": "command", name: "command" },
    ["", "run", "dev", "build", "deploy", "test"].map((c) => h("option", { value: c, selected: params.get("command") === c }, c || "any command")));
  const points = h("input", { type: "number", min: 2, max: 500, value: params.get("points") || "20", "aria-label": "runs per chart", name: "points", size: 4 });
  const body = h("div", { id: "trends" });
  const apply = () => {
    const p = new URLSearchParams();
    if (dir.value) p.set("dir", dir.value);
    if (command.value) p.set("command", command.value);
    if (points.value && points.value !== "20") p.set("points", points.value);
    history.replaceState(null, "", "/trends" + (p.toString() ? "?" + p : ""));
    route();
  };
  for (const el of [dir, command, points]) el.addEventListener("change", apply);
  app.replaceChildren(
    h("h1", {}, "Trends"),
    h("div", { class: "filters" }, dir, command, h("label", { class: "muted" }, "last ", points, " runs")),
    body);
  let stopped = false;
  let loading = false;
  let again = false;
  const load = async () => {
    if (loading) { again = true; return; }
    loading = true;
    try {
      const q = new URLSearchParams();
      if (params.get("dir")) q.set("dir", params.get("dir"));
      if (params.get("command")) q.set("command", params.get("command"));
      q.set("points", params.get("points") || "20");
      const [tr, Plot] = await Promise.all([getJSON("/v1alpha2/trends?" + q), loadPlot()]);
      if (stopped) return;
      const dirs = tr.workingDirs || [];
      const want = params.get("dir") || "";
      if (want && !dirs.includes(want)) dirs.unshift(want);
      dir.replaceChildren(h("option", { value: "" }, "any working directory"), ...dirs.map((d) => h("option", { value: d, selected: d === want }, d)));
      drawTrends(Plot, body, tr.series || []);
      window.hoistTimings.trends = performance.now();
    } catch (e) {
      if (!stopped) body.replaceChildren(h("div", { class: "error" }, String(e.message)));
    } finally {
      loading = false;
      if (again && !stopped) { again = false; load(); }
    }
  };
  // Runs that start or end change the trends: the runs list says when.
  const stop = stream("/v1alpha2/runs?watch=true&limit=1", () => load());
  return () => { stopped = true; stop(); hideTip(); };
}

function drawTrends(Plot, body, series) {
  // Cards side by side, as many as fit at 440 px or more.
  const room = body.clientWidth || 900;
  const cols = Math.max(1, Math.floor(room / 440));
  const width = Math.floor((room - (cols - 1) * 12) / cols) - 22;
  if (!series.length) {
    body.replaceChildren(h("div", { class: "empty" }, "No builds, deploys or status checks yet for these filters."));
    return;
  }
  const sections = [];
  for (const sec of TREND_SECTIONS) {
    const of = series.filter((s) => s.kind === sec.kind);
    if (!of.length) continue;
    sections.push(h("section", {}, h("h2", {}, sec.title, " ", h("span", { class: "muted" }, "— " + sec.what)),
      h("div", { class: "trend-grid", style: "grid-template-columns: repeat(" + cols + ", 1fr)" }, of.map((s) => trendCard(Plot, s, width)))));
  }
  const focused = body.contains(document.activeElement) ? document.activeElement.dataset.key : null;
  body.replaceChildren(...sections);
  if (focused) {
    const el = [...body.querySelectorAll("[data-key]")].find((e) => e.dataset.key === focused);
    if (el) el.focus();
  }
}

function trendCard(Plot, s, width) {
  const pts = s.points.map((p) => ({ ...p, t: new Date(p.start), sec: p.durationMs / 1000 }));
  const failed = pts.filter((p) => p.status === "FAILED").length;
  const last = pts[pts.length - 1];
  const chart = Plot.plot({
    width,
    height: 200,
    marginLeft: 48,
    x: { type: "time", label: null, ticks: 4 },
    y: { domain: [0, Math.max(...pts.map((p) => p.sec), 0.001) * 1.15], label: "seconds", grid: true },
    style: { fontSize: "11px", overflow: "visible" },
    marks: [
      Plot.lineY(pts, { x: "t", y: "sec", stroke: "#afb8c1", strokeWidth: 1.5 }),
      Plot.dot(pts, {
        x: "t", y: "sec", r: 5, strokeWidth: 2,
        symbol: (p) => (p.status === "FAILED" ? "times" : "circle"),
        stroke: (p) => statusColor(p.status),
        fill: (p) => (p.status === "FAILED" ? "none" : statusColor(p.status)),
        render: decorate(pts, (el, p) => {
          el.classList.add("point", "s-" + p.status);
          Object.assign(el.dataset, { run: p.run, status: p.status, start: p.start, durationMs: p.durationMs });
          explain(el, s.kind + "/" + s.name + "/" + p.run + "/" + p.start, [
            statusWord(p.status) + " in " + seconds(p.durationMs) + (p.detail ? " (" + p.detail + ")" : ""),
            "started: " + exactTime(p.t),
            "run: " + p.run,
            "open the run: click or Enter",
          ], () => navigate("/runs/" + encodeURIComponent(p.run)));
        }),
      }),
    ],
  });
  return h("div", { class: "card trend", "data-kind": s.kind, "data-name": s.name },
    h("div", { class: "head" }, h("strong", { class: "mono" }, s.name),
      h("span", { class: "muted" }, pts.length + (pts.length === 1 ? " run" : " runs") + (failed ? ", " + failed + " failed" : "")),
      last ? h("span", { class: "muted" }, "last: " + seconds(last.durationMs)) : ""),
    h("div", { class: "chart" }, chart));
}
