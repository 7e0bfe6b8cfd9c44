// hoist collector dashboard: the runs list and a run's live page; the
// charts (a run's timeline, the trends) are in charts.js.
// Plain DOM, no framework: everything comes from the collector's JSON
// endpoints, streamed as JSON lines, and text is only ever set as text.
"use strict";

const app = document.getElementById("app");
const conn = document.getElementById("conn");
const LINE = 18; // px per log line; the log views are virtualized.
let stopCurrent = () => {};
// When a run's page first showed log lines, drew its finished timeline and
// had every event, and when the trends were drawn, in ms since navigation:
// read by the benchmarks, and useful in devtools.
window.hoistTimings = {};

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else el.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

const badge = (s) => h("span", { class: "badge s-" + (s || "WAITING") }, (s || "WAITING").replace("_", " ").toLowerCase());
const shortId = (id) => (id || "").slice(-12);
const hostPort = (addr, port) => ((addr || "").includes(":") ? "[" + addr + "]" : addr || "127.0.0.1") + ":" + (port || 0);

function duration(start, end) {
  if (!start) return "";
  const ms = (end ? Date.parse(end) : Date.now()) - Date.parse(start);
  if (ms < 1000) return ms + " ms";
  const s = ms / 1000;
  if (s < 60) return s.toFixed(1) + " s";
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m ${Math.round(s % 60)}s` : `${Math.floor(m / 60)}h ${m % 60}m`;
}

function ago(t) {
  if (!t) return "";
  const s = (Date.now() - Date.parse(t)) / 1000;
  if (s < 60) return Math.max(0, Math.round(s)) + "s ago";
  if (s < 3600) return Math.round(s / 60) + "m ago";
  if (s < 86400) return Math.round(s / 3600) + "h ago";
  return new Date(t).toLocaleString();
}

// stream reads JSON lines from url, calling onBatch with each chunk's
// parsed lines, until the response ends or the returned stop is called.
function stream(url, onBatch, onEnd) {
  const ctl = new AbortController();
  (async () => {
    try {
      const resp = await fetch(url, { signal: ctl.signal, credentials: "same-origin" });
      if (resp.status === 401) { location.href = "/login?next=" + encodeURIComponent(location.pathname + location.search); return; }
      if (!resp.ok) throw new Error(`${resp.status} ${(await resp.text()).trim()}`);
      conn.textContent = "live";
      const reader = resp.body.getReader();
      const dec = new TextDecoder();
      let rest = "";
      let yielded = performance.now();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        const parts = (rest + dec.decode(value, { stream: true })).split("\n");
        rest = parts.pop();
        const batch = [];
        for (const p of parts) if (p) batch.push(JSON.parse(p));
        if (batch.length) onBatch(batch);
        // A long history arrives faster than it renders: let the page
        // paint what it has every few frames instead of after the last line.
        if (performance.now() - yielded > 50) {
          await new Promise((r) => requestAnimationFrame(() => setTimeout(r)));
          yielded = performance.now();
        }
      }
      conn.textContent = "";
      if (onEnd) onEnd(null);
    } catch (e) {
      if (e.name === "AbortError") return;
      conn.textContent = "disconnected";
      if (onEnd) onEnd(e);
    }
  })();
  return () => ctl.abort();
}

async function getJSON(url) {
  const resp = await fetch(url, { credentials: "same-origin" });
  if (resp.status === 401) { location.href = "/login?next=" + encodeURIComponent(location.pathname); throw new Error("unauthenticated"); }
  if (!resp.ok) throw new Error(`${resp.status} ${(await resp.text()).trim()}`);
  return resp.json();
}

function errorBox(err, where) {
  if (!err) return null;
  return h("div", { class: "error" },
    h("div", {}, where ? h("span", { class: "muted" }, where + ": ") : null, h("span", { class: "code" }, err.code || "ERROR"), " ", err.message || ""),
    err.suggestions && err.suggestions.length ? h("ul", {}, err.suggestions.map((s) => h("li", {}, s))) : null);
}

// ---- the runs list -------------------------------------------------------

function runsPage() {
  const params = new URLSearchParams(location.search);
  const status = h("select", { "aria-label": "status" },
    ["", "IN_PROGRESS", "SUCCEEDED", "FAILED", "CANCELED"].map((s) => h("option", { value: s, selected: params.get("status") === s }, s ? s.replace("_", " ").toLowerCase() : "any status")));
  const command = h("input", { placeholder: "command", value: params.get("command") || "", size: 10 });
  const image = h("input", { placeholder: "image", value: params.get("image") || "", size: 24 });
  const body = h("tbody");
  const pager = h("div", { class: "pager" });
  const apply = () => {
    const p = new URLSearchParams();
    if (status.value) p.set("status", status.value);
    if (command.value) p.set("command", command.value);
    if (image.value) p.set("image", image.value);
    history.replaceState(null, "", "/" + (p.toString() ? "?" + p : ""));
    route();
  };
  for (const el of [status, command, image]) el.addEventListener("change", apply);
  app.replaceChildren(
    h("h1", {}, "Runs"),
    h("div", { class: "filters" }, status, command, image),
    h("table", { id: "runs" }, h("thead", {}, h("tr", {}, ["status", "run", "command", "images", "duration", "started"].map((c) => h("th", {}, c)))), body),
    pager);
  let runs = [];
  const render = () => {
    body.replaceChildren(...(runs.length ? runs.map(runRow) : [h("tr", {}, h("td", { colspan: 6, class: "empty" }, "No runs yet. Point hoist at this collector with --event-rpc-address."))]));
  };
  const q = new URLSearchParams(params);
  q.set("limit", "100");
  q.set("watch", "true");
  const stop = stream("/v1alpha2/runs?" + q, (pages) => {
    const page = pages[pages.length - 1];
    runs = page.runs || [];
    render();
    pager.replaceChildren(page.nextPageToken ? h("a", { href: "#", onclick: (e) => { e.preventDefault(); olderRuns(q, page.nextPageToken, pager); } }, "Older runs") : "");
  });
  const tick = setInterval(render, 1000); // running durations and "ago"
  return () => { stop(); clearInterval(tick); };
}

async function olderRuns(q, token, pager) {
  const p = new URLSearchParams(q);
  p.delete("watch");
  p.set("page_token", token);
  const page = await getJSON("/v1alpha2/runs?" + p);
  const body = document.querySelector("#runs tbody");
  body.append(...(page.runs || []).map(runRow));
  pager.replaceChildren(page.nextPageToken ? h("a", { href: "#", onclick: (e) => { e.preventDefault(); olderRuns(q, page.nextPageToken, pager); } }, "Older runs") : "");
}

function runRow(r) {
  const href = "/runs/" + encodeURIComponent(r.eventId);
  return h("tr", { class: "run", "data-run": r.eventId, onclick: () => navigate(href) },
    h("td", {}, badge(r.status)),
    h("td", { class: "mono" }, h("a", { href, onclick: (e) => { e.preventDefault(); navigate(href); } }, shortId(r.eventId))),
    h("td", {}, r.command || ""),
    h("td", { class: "mono" }, (r.images || []).join(", ")),
    h("td", {}, duration(r.startTime, r.endTime)),
    h("td", { title: r.startTime || "" }, ago(r.startTime)));
}

// ---- a run's page --------------------------------------------------------

// LogView shows lines in a fixed-height window, rendering only the rows in
// view, so that a step of 100k lines costs what a screenful does. It
// follows new lines while scrolled to the bottom.
class LogView {
  constructor(lines) {
    this.lines = lines;
    this.el = h("div", { class: "log" });
    this.spacer = h("div", {});
    this.el.append(this.spacer);
    this.follow = true;
    this.el.addEventListener("scroll", () => {
      this.follow = this.el.scrollTop + this.el.clientHeight >= this.el.scrollHeight - LINE;
      this.draw();
    });
  }
  update() {
    const n = this.lines.length;
    this.el.style.height = Math.min(Math.max(n, 1) * LINE + 2, 420) + "px";
    this.spacer.style.height = n * LINE + "px";
    if (this.follow) this.el.scrollTop = n * LINE;
    this.draw();
  }
  draw() {
    const first = Math.max(0, Math.floor(this.el.scrollTop / LINE) - 10);
    const last = Math.min(this.lines.length, first + Math.ceil(420 / LINE) + 20);
    const rows = [];
    for (let i = first; i < last; i++) {
      const row = h("div", { class: "line" }, h("span", { class: "n" }, i + 1), this.lines[i]);
      row.style.top = i * LINE + "px";
      rows.push(row);
    }
    this.el.replaceChildren(this.spacer, ...rows);
  }
}

// Run folds a run's events into what its page shows.
class Run {
  constructor() {
    this.builds = new Map(); // image -> {status, steps, artifact, error, start, end}
    this.deploy = null;
    this.checks = new Map(); // resource -> {status, message, error}
    this.errors = [];
    this.iterations = new Map(); // dev loop iteration -> its latest event
    this.pods = new Map(); // namespace/pod -> {namespace, pod, containers, lines}: application logs
    this.ports = new Map(); // address:localPort -> the forward's latest portEvent
    this.syncs = []; // file syncs in order: {image, status, files, start, end, error}
    this.meta = null;
    this.end = null;
    this.count = 0;
  }
  // failed records an error once: the same failure reported by the build,
  // the dev iteration and the run's end is one entry naming all three.
  failed(where, error) {
    const same = this.errors.find((e) => e.error.code === error.code && e.error.message === error.message);
    if (same) same.where += ", " + where;
    else this.errors.push({ where, error });
  }
  build(image, t) {
    let b = this.builds.get(image);
    if (!b) {
      b = { image, status: "IN_PROGRESS", steps: [], artifact: null, error: null, start: t, end: null };
      this.builds.set(image, b);
    }
    return b;
  }
  apply(env) {
    const ev = env.event;
    const t = ev.timestamp;
    this.count++;
    if (ev.metaEvent) {
      this.meta = ev.metaEvent;
      for (const img of ev.metaEvent.artifacts || []) this.build(img, null).status = "";
    } else if (ev.buildEvent) {
      const e = ev.buildEvent;
      const b = this.build(e.image, t);
      if (!b.start) b.start = t;
      if (e.log !== undefined) {
        if (!b.status) b.status = "IN_PROGRESS";
        if (e.step || !b.steps.length) {
          const st = e.step || { instruction: "output" };
          b.steps.push({ step: st, lines: [], view: null, open: false, el: null });
        }
        b.steps[b.steps.length - 1].lines.push(e.log);
        b.dirty = true;
        return;
      }
      if (e.status === "IN_PROGRESS" && ["SUCCEEDED", "FAILED", "SKIPPED", "CANCELED"].includes(b.status)) {
        // hoist dev builds the image again: a fresh card.
        Object.assign(b, { steps: [], artifact: null, error: null, start: t, end: null, reset: true });
      }
      b.status = e.status;
      if (e.artifact) b.artifact = e.artifact;
      if (e.status !== "IN_PROGRESS") b.end = t;
      if (e.error) { b.error = e.error; this.failed("build " + e.image, e.error); }
      b.dirty = true;
    } else if (ev.deployEvent) {
      const e = ev.deployEvent;
      if (!this.deploy || (e.status === "IN_PROGRESS" && !(e.resources || []).length && !e.log)) {
        this.deploy = { status: "IN_PROGRESS", deployer: e.deployer, manifests: [], resources: [], logs: [], error: null, start: t };
      }
      const d = this.deploy;
      if (e.manifests) d.manifests = e.manifests;
      if (e.resources) d.resources.push(...e.resources);
      if (e.log) d.logs.push(e.log);
      if (e.status && !(e.resources || []).length && !e.log) d.status = e.status;
      if (e.status !== "IN_PROGRESS") d.end = t;
      if (e.error) { d.error = e.error; this.failed("deploy", e.error); }
    } else if (ev.statusCheckEvent) {
      const e = ev.statusCheckEvent;
      const key = e.resource || "(all resources)";
      this.checks.set(key, { status: e.status, message: e.message || "", error: e.error });
      if (e.error && e.status === "FAILED") this.failed("status check " + key, e.error);
    } else if (ev.devLoopEvent) {
      const it = ev.devLoopEvent;
      this.iterations.set(it.iteration || 0, { ...(this.iterations.get(it.iteration || 0) || {}), ...it });
      if (ev.devLoopEvent.error) this.failed("dev iteration " + ev.devLoopEvent.iteration, ev.devLoopEvent.error);
    } else if (ev.testEvent) {
      if (ev.testEvent.error) this.failed("test " + ev.testEvent.image, ev.testEvent.error);
    } else if (ev.renderEvent) {
      if (ev.renderEvent.error) this.failed("render", ev.renderEvent.error);
    } else if (ev.applicationLogEvent) {
      const e = ev.applicationLogEvent;
      const key = (e.namespace || "") + "/" + (e.pod || "");
      let p = this.pods.get(key);
      if (!p) {
        p = { namespace: e.namespace || "", pod: e.pod || "", containers: [], lines: [], dirty: true };
        this.pods.set(key, p);
      }
      if (!p.containers.includes(e.container || "")) p.containers.push(e.container || "");
      p.lines.push((e.container || "") + " │ " + (e.message || ""));
      p.dirty = true;
    } else if (ev.portEvent) {
      const e = ev.portEvent;
      this.ports.set(hostPort(e.address, e.localPort), e);
    } else if (ev.fileSyncEvent) {
      const e = ev.fileSyncEvent;
      // A sync starts IN_PROGRESS and ends with the image's next event.
      let s = e.status === "IN_PROGRESS" ? null : this.syncs.findLast((x) => x.image === e.image && x.status === "IN_PROGRESS");
      if (!s) {
        s = { image: e.image, status: e.status, files: e.fileCount || 0, start: t, end: null, error: null };
        this.syncs.push(s);
      }
      s.status = e.status;
      if (e.fileCount) s.files = e.fileCount;
      if (e.status !== "IN_PROGRESS") s.end = t;
      if (e.error) { s.error = e.error; this.failed("sync " + e.image, e.error); }
    } else if (ev.terminationEvent) {
      this.end = { status: ev.terminationEvent.status, time: t, error: ev.terminationEvent.error };
      if (ev.terminationEvent.error) this.failed("run", ev.terminationEvent.error);
    }
  }
}

function runPage(id) {
  // The chart library (preloaded by index.html) runs while the run's
  // timeline and events are read.
  loadPlot().catch(() => {});
  const model = new Run();
  let summary = null;
  const header = h("div", {});
  const builds = h("div", { id: "builds" });
  const noBuilds = h("div", { class: "empty" });
  const pushes = h("div", { id: "pushes" });
  const deploy = h("div", { id: "deploy" });
  const checks = h("div", { id: "checks" });
  const errors = h("div", { id: "errors" });
  const iterations = h("div", { id: "iterations" });
  const devSection = h("section", { hidden: true }, h("h2", {}, "Dev loop iterations"), iterations);
  const pods = h("div", { id: "pods" });
  const podsSection = h("section", { hidden: true }, h("h2", {}, "Application logs"), pods);
  const ports = h("div", { id: "ports" });
  const portsSection = h("section", { hidden: true }, h("h2", {}, "Forwarded ports"), ports);
  const syncs = h("div", { id: "syncs" });
  const syncSection = h("section", { hidden: true }, h("h2", {}, "File syncs"), syncs);
  const timelineBox = h("div", { id: "timeline", class: "chart" }, h("div", { class: "empty" }, "Loading…"));
  const timeline = new Timeline(timelineBox);
  app.replaceChildren(
    h("p", {}, h("a", { href: "/", onclick: (e) => { e.preventDefault(); navigate("/"); } }, "← all runs")),
    header,
    h("section", {}, h("h2", {}, "Timeline"), h("div", { class: "legend" },
      Object.keys(STATUS_COLORS).map((st) => h("span", {}, h("i", { class: "swatch s-" + st }), statusWord(st)))), timelineBox),
    h("section", {}, h("h2", {}, "Errors"), errors),
    devSection,
    syncSection,
    h("section", {}, h("h2", {}, "Builds"), noBuilds, builds),
    h("section", {}, h("h2", {}, "Pushes"), pushes),
    h("section", {}, h("h2", {}, "Deploy"), deploy),
    portsSection,
    h("section", {}, h("h2", {}, "Status checks"), checks),
    podsSection);
  const cards = new Map();
  const podCards = new Map();
  let scheduled = false;
  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(() => { scheduled = false; render(); });
  };

  function renderHeader() {
    const s = model.end ? model.end.status : (summary && summary.status) || "IN_PROGRESS";
    const m = model.meta || {};
    const start = (summary && summary.startTime) || null;
    const end = model.end ? model.end.time : summary && summary.endTime;
    header.replaceChildren(
      h("h1", {}, badge(s), " ", m.command || (summary && summary.command) || "run", " ", h("span", { class: "mono muted" }, id)),
      h("div", { class: "meta" },
        h("span", { class: "muted" }, "started"), h("span", { title: start || "" }, start ? new Date(start).toLocaleString() : ""),
        h("span", { class: "muted" }, "duration"), h("span", {}, duration(start, end)),
        h("span", { class: "muted" }, "images"), h("span", { class: "mono" }, (m.artifacts || []).join(", ")),
        h("span", { class: "muted" }, "working dir"), h("span", { class: "mono" }, m.workingDir || ""),
        h("span", { class: "muted" }, "hoist"), h("span", {}, m.version || ""),
        h("span", { class: "muted" }, "events"), h("span", { id: "event-count" }, String(model.count))));
  }

  function buildCard(b) {
    let c = cards.get(b.image);
    if (!c) {
      c = { head: h("div", { class: "head" }), steps: h("div", {}), err: h("div", {}) };
      c.el = h("div", { class: "card build", "data-image": b.image }, c.head, c.steps, c.err);
      cards.set(b.image, c);
      builds.append(c.el);
    }
    c.head.replaceChildren(badge(b.status), h("strong", { class: "mono" }, b.image),
      h("span", { class: "muted" }, duration(b.start, b.end || (model.end && model.end.time))),
      b.artifact ? h("span", { class: "mono muted" }, b.artifact.tag || "") : "");
    if (b.reset) { c.steps.replaceChildren(); b.reset = false; }
    b.steps.forEach((s, i) => {
      if (!s.el) {
        s.count = h("span", { class: "count" });
        s.fold = h("span", { class: "fold" });
        s.body = h("div", {});
        const title = s.step.index ? `Step ${s.step.index}/${s.step.total}: ${s.step.instruction}` : s.step.instruction;
        s.el = h("div", { class: "step" }, h("div", { class: "row", onclick: () => { s.open = !s.open; s.user = true; drawStep(s); } }, s.fold, h("span", { class: "mono" }, title), s.count), s.body);
        c.steps.append(s.el);
      }
      // The step in progress is open until the user folds it; so is a failed one.
      const last = i === b.steps.length - 1;
      if (!s.user) s.open = last && (b.status === "IN_PROGRESS" || b.status === "FAILED" || b.status === "");
      drawStep(s);
    });
    c.err.replaceChildren(b.error ? errorBox(b.error, "build") : "");
  }

  function drawStep(s) {
    s.count.textContent = s.lines.length + (s.lines.length === 1 ? " line" : " lines");
    s.fold.textContent = s.open ? "▾" : "▸";
    if (s.open) {
      if (!s.view) { s.view = new LogView(s.lines); s.body.append(s.view.el); }
      s.view.el.hidden = false;
      s.view.update();
    } else if (s.view) {
      s.view.el.hidden = true;
      s.view.el.replaceChildren(s.view.spacer);
    }
  }

  // podCard shows one pod's application logs: every container's lines in
  // the order they were printed, each after its container's name.
  function podCard(p) {
    const key = p.namespace + "/" + p.pod;
    let c = podCards.get(key);
    if (!c) {
      c = { head: h("div", { class: "head" }), view: new LogView(p.lines) };
      c.el = h("div", { class: "card pod", "data-pod": p.pod, "data-namespace": p.namespace }, c.head, c.view.el);
      podCards.set(key, c);
      pods.append(c.el);
    }
    c.head.replaceChildren(h("strong", { class: "mono" }, p.pod), h("span", { class: "muted" }, p.namespace),
      h("span", { class: "mono muted containers" }, p.containers.join(", ")),
      h("span", { class: "muted count" }, p.lines.length + (p.lines.length === 1 ? " line" : " lines")));
    c.view.update();
  }

  function render() {
    renderHeader();
    podsSection.hidden = model.pods.size === 0;
    for (const p of model.pods.values()) if (p.dirty) { p.dirty = false; podCard(p); }
    const seen = () => window.hoistTimings.firstLog || (window.hoistTimings.firstLog = performance.now());
    for (const b of model.builds.values()) if (b.dirty || !cards.has(b.image)) { b.dirty = false; buildCard(b); }
    if (builds.querySelector(".log:not([hidden]) .line")) seen();
    if (model.end) window.hoistTimings.allEvents = window.hoistTimings.allEvents || performance.now();
    const none = model.end ? "None." : "None yet.";
    noBuilds.textContent = model.builds.size ? "" : none;
    noBuilds.hidden = model.builds.size > 0;
    const pushed = [...model.builds.values()].filter((b) => b.artifact);
    pushes.replaceChildren(pushed.length
      ? h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "image"), h("th", {}, "tag"), h("th", {}, "digest"))),
        h("tbody", {}, pushed.map((b) => h("tr", {}, h("td", { class: "mono" }, b.image), h("td", { class: "mono" }, b.artifact.tag || ""), h("td", { class: "mono" }, b.artifact.digest || "")))))
      : h("div", { class: "empty" }, none));
    const d = model.deploy;
    deploy.replaceChildren(d
      ? h("div", { class: "card" },
        h("div", { class: "head" }, badge(d.status), h("strong", {}, d.deployer || "deploy"), h("span", { class: "muted" }, duration(d.start, d.end))),
        h("div", { style: "padding:.5em .8em" },
          h("div", {}, h("span", { class: "muted" }, "manifests: "), h("span", { class: "mono" }, d.manifests.join(", "))),
          d.resources.length ? h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "kind"), h("th", {}, "object"), h("th", {}, "action"))),
            h("tbody", {}, d.resources.map((r) => h("tr", {}, h("td", {}, r.kind), h("td", { class: "mono" }, (r.namespace ? r.namespace + "/" : "") + r.name), h("td", {}, r.action || ""))))) : null,
          d.logs.length ? h("pre", { class: "mono" }, d.logs.join("\n")) : null,
          errorBox(d.error, "deploy")))
      : h("div", { class: "empty" }, none));
    checks.replaceChildren(model.checks.size
      ? h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "resource"), h("th", {}, "status"), h("th", {}, "message"))),
        h("tbody", {}, [...model.checks].map(([k, v]) => h("tr", {}, h("td", { class: "mono" }, k), h("td", {}, badge(v.status)),
          h("td", {}, v.message, v.error ? errorBox(v.error) : null)))))
      : h("div", { class: "empty" }, none));
    devSection.hidden = model.iterations.size === 0;
    if (model.iterations.size) {
      iterations.replaceChildren(h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "iteration"), h("th", {}, "status"), h("th", {}, "changed files"))),
        h("tbody", {}, [...model.iterations.values()].reverse().map((it) => h("tr", {}, h("td", {}, String(it.iteration || 0)), h("td", {}, badge(it.status)),
          h("td", { class: "mono" }, (it.changedFiles || []).join(", "), it.error ? errorBox(it.error) : null))))));
    }
    portsSection.hidden = model.ports.size === 0;
    if (model.ports.size) {
      ports.replaceChildren(h("table", {}, h("thead", {}, h("tr", {}, ["local", "resource", "pod", "container", "remote port"].map((c) => h("th", {}, c)))),
        h("tbody", {}, [...model.ports].map(([local, p]) => h("tr", { "data-local": local },
          h("td", { class: "mono" }, model.end ? local : h("a", { href: "http://" + local + "/", target: "_blank", rel: "noopener" }, local)),
          h("td", { class: "mono" }, (p.resourceType || "") + "/" + (p.resourceName || "")),
          h("td", { class: "mono" }, (p.namespace ? p.namespace + "/" : "") + (p.pod || "")),
          h("td", { class: "mono" }, p.container || ""),
          h("td", {}, String(p.remotePort || "")))))));
    }
    syncSection.hidden = model.syncs.length === 0;
    if (model.syncs.length) {
      syncs.replaceChildren(h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "image"), h("th", {}, "files"), h("th", {}, "status"), h("th", {}, "took"))),
        h("tbody", {}, model.syncs.slice().reverse().map((s) => h("tr", { class: "sync" }, h("td", { class: "mono" }, s.image), h("td", {}, String(s.files)),
          h("td", {}, badge(s.status)), h("td", {}, duration(s.start, s.end), s.error ? errorBox(s.error) : null))))));
    }
    errors.replaceChildren(...(model.errors.length ? model.errors.map((e) => errorBox(e.error, e.where)) : [h("div", { class: "empty" }, "None.")]));
  }

  getJSON("/v1alpha2/runs/" + encodeURIComponent(id)).then((r) => { summary = r; schedule(); })
    .catch((e) => { header.replaceChildren(h("div", { class: "error" }, String(e.message))); });
  // The timeline comes apart from the events: the spans the collector
  // folded from them, then the spans that change while the run is live.
  let drawing = false;
  let redrawNeeded = false;
  const drawTimeline = async () => {
    if (drawing) { redrawNeeded = true; return; }
    drawing = true;
    try {
      await timeline.draw();
      if (timeline.drawn && !timeline.live()) window.hoistTimings.timeline = window.hoistTimings.timeline || performance.now();
    } catch (e) {
      timelineBox.replaceChildren(h("div", { class: "error" }, "drawing the timeline: " + e.message));
    } finally {
      drawing = false;
      if (redrawNeeded) { redrawNeeded = false; requestAnimationFrame(drawTimeline); }
    }
  };
  const stopTimeline = stream("/v1alpha2/runs/" + encodeURIComponent(id) + "/timeline?watch=true", (pages) => {
    for (const p of pages) timeline.update(p);
    drawTimeline();
  });
  // A live run's open spans grow with the clock.
  const growing = setInterval(() => { if (timeline.drawn && timeline.live()) drawTimeline(); }, 500);
  const stop = stream("/v1alpha2/events?follow=true&run=" + encodeURIComponent(id), (batch) => {
    for (const env of batch) model.apply(env);
    schedule();
  });
  const tick = setInterval(() => { if (!model.end) renderHeader(); }, 1000);
  render();
  return () => { stop(); stopTimeline(); clearInterval(tick); clearInterval(growing); hideTip(); };
}

// ---- routing -------------------------------------------------------------

function navigate(href) {
  history.pushState(null, "", href);
  route();
}

function route() {
  stopCurrent();
  const m = location.pathname.match(/^\/runs\/([^/]+)$/);
  for (const a of document.querySelectorAll("header nav a")) {
    a.classList.toggle("current", a.getAttribute("href") === (location.pathname === "/trends" ? "/trends" : "/"));
  }
  if (m) stopCurrent = runPage(decodeURIComponent(m[1]));
  else if (location.pathname === "/trends") stopCurrent = trendsPage();
  else stopCurrent = runsPage();
}

for (const a of document.querySelectorAll("header nav a")) {
  a.addEventListener("click", (e) => { e.preventDefault(); navigate(a.getAttribute("href")); });
}

addEventListener("popstate", route);
route();
