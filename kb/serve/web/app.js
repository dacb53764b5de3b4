// The query page: YASGUI's editor (Yasqe) and result views (Yasr), served by kb serve itself.
// Named queries run through /query/<name> with their parameters as bindings; other queries go
// to /sparql. Prefix completion offers the KB's own prefixes only: nothing leaves the server.
"use strict";

const state = { queries: [], idBase: "", prefixes: {}, yasqe: null, yasr: null };
const $ = (id) => document.getElementById(id);
// The starting query, its PREFIX line from the KB's own prefixes (queries.json).
const defaultQuery = () => `PREFIX rdfs: <${state.prefixes.rdfs}>
SELECT ?entity ?label WHERE {
  ?entity rdfs:label ?label .
} ORDER BY ?label LIMIT 20`;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "text") node.textContent = v; else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c);
  return node;
}

function selected() {
  return state.queries.find((q) => q.name === $("named").value) || null;
}

function showParams(q) {
  const box = $("params");
  box.replaceChildren();
  for (const p of (q ? q.params : [])) {
    const id = `param-${p.name}`;
    const input = el("input", { id, name: p.name, "data-param": p.name,
      placeholder: p.kind === "date" ? "YYYY-MM-DD" : p.kind === "iri" ? "an id, e.g. kirill-dmitriev" : p.kind });
    if (!p.optional) input.required = true;
    input.addEventListener("keydown", (e) => { if (e.key === "Enter") run(); });
    box.append(el("label", { for: id, text: `${p.name}${p.optional ? "" : " *"}` }), input,
      el("span", { class: "hint", text: p.doc }));
  }
}

function choose(name) {
  $("named").value = name;
  const q = selected();
  if (q) state.yasqe.setValue(q.text);
  $("description").textContent = q ? (q.description || q.title) : "";
  showParams(q);
}

async function loadQueries() {
  const res = await fetch("/queries.json");
  const doc = await res.json();
  state.queries = doc.queries;
  state.idBase = doc.idBase;
  state.prefixes = doc.prefixes;
  const select = $("named");
  const groups = {};
  for (const q of state.queries) {
    const group = q.name.includes("/") ? q.name.split("/")[0] : "queries";
    if (!groups[group]) {
      groups[group] = el("optgroup", { label: group === "queries" ? "Named queries" : group });
      select.append(groups[group]);
    }
    groups[group].append(el("option", { value: q.name, text: `${q.title} (${q.name})` }));
  }
}

function request(accept) {
  const q = selected();
  const headers = { Accept: accept, "Content-Type": "application/x-www-form-urlencoded" };
  if (q && state.yasqe.getValue() === q.text) {
    // The named query as written: its parameters travel as bindings, never as query text.
    const form = new URLSearchParams();
    for (const input of document.querySelectorAll("[data-param]")) {
      if (input.value.trim()) form.append(input.dataset.param, input.value.trim());
    }
    return fetch(`/query/${q.name}`, { method: "POST", headers, body: form });
  }
  const form = new URLSearchParams({ query: state.yasqe.getValue() });
  return fetch("/sparql", { method: "POST", headers, body: form });
}

// IRIs of the KB's own entities open their page (/id/<id>); the full IRI stays as the title.
function linkEntities() {
  for (const a of document.querySelectorAll("#yasr a.iri")) {
    const iri = a.getAttribute("href") || "";
    if (state.idBase && iri.startsWith(state.idBase)) {
      a.setAttribute("href", `/id/${iri.slice(state.idBase.length)}`);
      a.title = iri;
    } else if (!a.title) {
      a.title = iri;
    }
    a.removeAttribute("target");
  }
}

async function run() {
  const results = $("results");
  const status = $("status");
  results.dataset.state = "running";
  status.className = "status";
  status.textContent = "Running…";
  const started = performance.now();
  try {
    const res = await request("application/sparql-results+json, text/turtle;q=0.9");
    const ms = Math.round(performance.now() - started);
    const type = res.headers.get("Content-Type") || "";
    const text = await res.text();
    if (!res.ok) {
      status.className = "status error";
      status.textContent = `${res.status} ${res.statusText}: ${text}`;
      results.dataset.state = "error";
      return;
    }
    state.yasr.setResponse({ data: text, contentType: type.split(";")[0], status: res.status,
      executionTime: ms });
    if (type.includes("json")) {
      const doc = JSON.parse(text);
      if ("boolean" in doc) {
        status.textContent = `ASK answered ${doc.boolean} · ${ms} ms`;
      } else {
        const n = doc.results.bindings.length;
        status.textContent = `${n} row${n === 1 ? "" : "s"} · ${ms} ms`;
      }
    } else {
      status.textContent = `graph · ${ms} ms`;
    }
    results.dataset.state = "done";
  } catch (err) {
    status.className = "status error";
    status.textContent = `The server could not be reached: ${err}`;
    results.dataset.state = "error";
  }
}

async function download(accept, ext) {
  const res = await request(accept);
  if (!res.ok) {
    $("status").className = "status error";
    $("status").textContent = `${res.status} ${res.statusText}: ${await res.text()}`;
    return;
  }
  const url = URL.createObjectURL(await res.blob());
  const a = el("a", { href: url, download: `${$("named").value.replace("/", "-") || "results"}.${ext}` });
  document.body.append(a);
  a.click();
  a.remove();
  URL.revokeObjectURL(url);
}

// A Yasr view for results with date columns: one bar per row on a time axis, from the
// `earliest` (or first date) column to the `latest` one, labelled, linked to the row's entity.
// (The SVG namespace as the HTML parser assigns it; XSD from the KB's prefixes.)
const SVG = (() => { const d = document.createElement("div"); d.innerHTML = "<svg></svg>"; return d.firstChild.namespaceURI; })();
const dateTypes = () => [`${state.prefixes.xsd}date`, `${state.prefixes.xsd}dateTime`];

function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

class TimelineView {
  constructor(yasr) { this.yasr = yasr; this.priority = 1; this.label = "Timeline"; }

  columns() {
    const vars = this.yasr.results?.getVariables?.() || [];
    const rows = this.yasr.results?.getBindings?.() || [];
    const dated = vars.filter((v) => rows.some((r) => r[v] && dateTypes().includes(r[v].datatype)));
    if (!dated.length) return null;
    const start = dated.includes("earliest") ? "earliest" : dated.includes("sortDate") ? "sortDate" : dated[0];
    const end = dated.includes("latest") ? "latest" : start;
    const link = vars.includes("fact") ? "fact" : vars.find((v) => rows.some((r) => r[v]?.type === "uri"));
    const label = vars.includes("label") ? "label" : vars.find((v) => rows.some((r) => r[v]?.type === "literal" && !dateTypes().includes(r[v].datatype)));
    return { start, end, link, label, rows };
  }

  canHandleResults() { return !!this.columns(); }

  getIcon() {
    const icon = svg("svg", { viewBox: "0 0 16 16", width: "15", height: "15" });
    for (const [y, x, w] of [[3, 1, 8], [7, 5, 9], [11, 3, 6]]) {
      icon.append(svg("rect", { x, y, width: w, height: 2.5, fill: "currentColor" }));
    }
    return icon;
  }

  draw() {
    const { start, end, link, label, rows } = this.columns();
    const items = rows.map((r) => {
      const from = r[start] ? Date.parse(r[start].value) : NaN;
      const to = r[end] ? Date.parse(r[end].value) : from;
      return { from: isNaN(from) ? to : from, to: isNaN(to) ? from : to, row: r };
    }).filter((i) => !isNaN(i.from));
    const min = Math.min(...items.map((i) => i.from));
    const max = Math.max(...items.map((i) => i.to), min + 864e5);
    const [left, width, rowH] = [330, 960, 18];
    const x = (t) => left + ((t - min) / (max - min)) * (width - left - 10);
    const box = svg("svg", { class: "kb-timeline", width, height: items.length * rowH + 30,
      viewBox: `0 0 ${width} ${items.length * rowH + 30}` });
    const y0 = new Date(min).getUTCFullYear();
    for (let y = y0; y <= new Date(max).getUTCFullYear() + 1; y++) {
      const t = Date.UTC(y, 0, 1);
      if (t < min || t > max) continue;
      box.append(svg("line", { x1: x(t), x2: x(t), y1: 0, y2: items.length * rowH + 12, class: "tick" }),
        svg("text", { x: x(t) + 2, y: items.length * rowH + 24, class: "year" }, String(y)));
    }
    items.forEach((item, i) => {
      const y = i * rowH + 4;
      const iri = link && item.row[link] ? item.row[link].value : "";
      const local = iri && state.idBase && iri.startsWith(state.idBase);
      const a = svg("a", { class: "bar", href: local ? `/id/${iri.slice(state.idBase.length)}` : iri, "data-iri": iri });
      const text = label && item.row[label] ? item.row[label].value : iri;
      a.append(svg("title", {}, `${text} (${item.row[start]?.value || ""} – ${item.row[end]?.value || ""})`),
        svg("text", { x: left - 8, y: y + 11, class: "label", "text-anchor": "end" },
          text.length > 48 ? `${text.slice(0, 47)}…` : text),
        svg("rect", { x: x(item.from), y: y + 2, height: rowH - 6,
          width: Math.max(4, x(item.to) - x(item.from)) }));
      box.append(a);
    });
    this.yasr.resultsEl.appendChild(box);
  }
}

function makeEditors() {
  const { Yasqe, Yasr } = window.Yasgui;
  // Prefix completion from the KB's prefixes (queries.json), never from prefix.cc; the
  // class and property completers (which ask lov.linkeddata.es) are left out.
  Yasqe.registerAutocompleter({
    ...Yasqe.Autocompleters.prefixes,
    get: () => Promise.resolve(Object.entries(state.prefixes)
      .map(([p, ns]) => `${p}: <${ns}>`).sort()),
  }, false);
  state.yasqe = new Yasqe($("yasqe"), {
    value: defaultQuery(),
    persistenceId: null,
    autocompleters: ["prefixes", "variables"],
    prefixCcApi: null,
    showQueryButton: false,
    consumeShareLink: null,
    createShareableLink: null,
    resizeable: true,
    editorHeight: "260px",
    extraKeys: { ...Yasqe.defaults.extraKeys, "Ctrl-Enter": () => run(), "Cmd-Enter": () => run() },
  });
  Yasr.registerPlugin("timeline", TimelineView);
  state.yasr = new Yasr($("yasr"), {
    persistenceId: null,
    prefixes: state.prefixes,
    pluginOrder: ["table", "timeline", "response"],
    defaultPlugin: "table",
  });
  state.yasr.on("drawn", linkEntities);
}

async function init() {
  try {
    await loadQueries();
  } catch (err) {
    $("status").textContent = `Could not load the named queries: ${err}`;
  }
  makeEditors();
  $("run").addEventListener("click", run);
  $("named").addEventListener("change", () => choose($("named").value));
  for (const b of document.querySelectorAll("[data-download]")) {
    b.addEventListener("click", () => download(b.dataset.download, b.dataset.ext));
  }
  const params = new URLSearchParams(location.search);
  if (params.get("name")) {
    choose(params.get("name"));
    for (const input of document.querySelectorAll("[data-param]")) {
      const v = params.get(input.dataset.param);
      if (v) input.value = v;
    }
  }
  document.body.dataset.ready = "true";
  if (params.has("run")) run();
}

init();
