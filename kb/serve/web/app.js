// The query page: pick a named query (or write one), run it against /sparql, show a table.
// No external scripts or styles: everything this page needs is served by kb serve itself.
"use strict";

const state = { queries: [], idBase: "", prefixes: {} };
const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "text") node.textContent = v; else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c);
  return node;
}

function compact(iri) {
  let best = null;
  for (const [prefix, ns] of Object.entries(state.prefixes)) {
    if (iri.startsWith(ns) && (!best || ns.length > best[1].length)) best = [prefix, ns];
  }
  return best ? `${best[0]}:${iri.slice(best[1].length)}` : iri;
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
    box.append(el("label", { for: id, text: `${p.name}${p.optional ? "" : " *"}` }), input,
      el("span", { class: "hint", text: p.doc }));
  }
}

function choose(name) {
  $("named").value = name;
  const q = selected();
  if (q) $("query").value = q.text;
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
  if (q && $("query").value === q.text) {
    // The named query as written: its parameters travel as bindings, never as query text.
    const form = new URLSearchParams();
    for (const input of document.querySelectorAll("[data-param]")) {
      if (input.value.trim()) form.append(input.dataset.param, input.value.trim());
    }
    return fetch(`/query/${q.name}`, { method: "POST", headers, body: form });
  }
  const form = new URLSearchParams({ query: $("query").value });
  return fetch("/sparql", { method: "POST", headers, body: form });
}

function cell(term) {
  const td = el("td");
  if (!term) return td;
  if (term.type === "uri") {
    const local = state.idBase && term.value.startsWith(state.idBase);
    const href = local ? `/id/${term.value.slice(state.idBase.length)}` : term.value;
    td.append(el("a", { href, title: term.value, text: compact(term.value) }));
  } else if (term.type === "bnode") {
    td.textContent = `_:${term.value}`;
  } else {
    td.textContent = term.value;
    const note = term["xml:lang"] ? `@${term["xml:lang"]}` :
      term.datatype && !term.datatype.endsWith("#string") ? compact(term.datatype) : "";
    if (note) td.append(" ", el("span", { class: "dt", text: note }));
  }
  return td;
}

function table(doc) {
  const vars = doc.head.vars || [];
  const head = el("tr", {}, ...vars.map((v) => el("th", { text: v })));
  const rows = doc.results.bindings.map((b) => el("tr", {}, ...vars.map((v) => cell(b[v]))));
  return el("table", { id: "results-table", class: "results" }, el("thead", {}, head),
    el("tbody", {}, ...rows));
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
    if (!res.ok) {
      status.className = "status error";
      status.textContent = `${res.status} ${res.statusText}: ${await res.text()}`;
      results.replaceChildren();
      results.dataset.state = "error";
      return;
    }
    if (type.includes("json")) {
      const doc = await res.json();
      if ("boolean" in doc) {
        results.replaceChildren(el("p", { class: "boolean", text: String(doc.boolean) }));
        status.textContent = `ASK answered ${doc.boolean} · ${ms} ms`;
      } else {
        const n = doc.results.bindings.length;
        results.replaceChildren(table(doc));
        status.textContent = `${n} row${n === 1 ? "" : "s"} · ${ms} ms`;
      }
    } else {
      results.replaceChildren(el("pre", { class: "graph", text: await res.text() }));
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

async function init() {
  $("run").addEventListener("click", run);
  $("named").addEventListener("change", () => choose($("named").value));
  $("query").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); run(); }
  });
  for (const b of document.querySelectorAll("[data-download]")) {
    b.addEventListener("click", () => download(b.dataset.download, b.dataset.ext));
  }
  try {
    await loadQueries();
  } catch (err) {
    $("status").textContent = `Could not load the named queries: ${err}`;
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
