// The entity page's views: the network (Cytoscape.js, vendored) and the timeline (plain SVG).
// Data comes from this server only: /id/<id>/network.json and /id/<id>/timeline.json.
"use strict";

const COLOURS = {person: "#1f5fbf", group: "#7d8fb3", organisation: "#2e8b57", place: "#b8860b",
                 document: "#8b4513", other: "#777"};
const RELATIONS = {contact: "#1f5fbf", transmission: "#8e44ad", post: "#2e8b57",
                   relationship: "#d35400", sanction: "#a11d2b"};
const SVGNS = "http://www.w3.org/2000/svg";
const pending = new Set();

function ready(name) {
  pending.delete(name);
  if (pending.size === 0) document.body.dataset.ready = "true";
}

async function getJSON(url) {
  const resp = await fetch(url, {headers: {Accept: "application/json"}});
  if (!resp.ok) throw new Error(`${resp.status}: ${await resp.text()}`);
  return resp.json();
}

// -- network ----------------------------------------------------------------------------
let networkRequest = 0;  // the latest choice's request: an earlier answer arriving late is dropped

async function drawNetwork(box) {
  const mine = ++networkRequest;
  const params = new URLSearchParams({hops: document.getElementById("net-hops").value});
  for (const k of ["from", "to"]) {
    const v = document.getElementById(`net-${k}`).value;
    if (v) params.set(k, v);
  }
  const message = document.getElementById("net-message");
  const data = await getJSON(`${box.dataset.src}?${params}`);
  if (mine !== networkRequest) return;  // the reader changed hops or dates meanwhile
  const elements = [
    ...data.nodes.map(n => ({data: {id: n.id, label: n.label, kind: n.kind, href: n.href,
                                    hop: n.hop}, classes: n.id === data.centre ? "centre" : ""})),
    ...data.edges.map(e => ({data: {id: e.id, source: e.source, target: e.target,
                                    relation: e.relation, weight: e.weight, facts: e.facts,
                                    earliest: e.earliest, latest: e.latest},
                             classes: e.contested ? "contested" : ""})),
  ];
  message.textContent = `${data.nodes.length} nodes, ${data.edges.length} edges` +
    (data.message ? ` — ${data.message}` : "");
  message.classList.toggle("warning", Boolean(data.capped));
  if (window.kbNetwork) window.kbNetwork.destroy();
  const cy = cytoscape({
    container: box, elements, wheelSensitivity: 0.3,
    style: [
      {selector: "node", style: {"label": "data(label)", "font-size": 10, "width": 14,
        "height": 14, "text-valign": "bottom", "text-margin-y": 3, "color": "#1d2330",
        "text-wrap": "ellipsis", "text-max-width": 140, "background-color": "#777"}},
      ...Object.entries(COLOURS).map(([k, c]) => ({selector: `node[kind = "${k}"]`,
                                                    style: {"background-color": c}})),
      {selector: "node[kind = \"organisation\"]", style: {"shape": "round-rectangle"}},
      {selector: "node[kind = \"group\"]", style: {"shape": "ellipse", "border-width": 2,
                                                   "border-color": "#fff"}},
      {selector: "node[kind = \"place\"]", style: {"shape": "diamond"}},
      {selector: "node.centre", style: {"width": 26, "height": 26, "font-weight": "bold",
                                        "font-size": 13}},
      {selector: "edge", style: {"curve-style": "bezier", "opacity": 0.75,
        "width": "mapData(weight, 1, 10, 1.5, 9)", "line-color": "#999"}},
      ...Object.entries(RELATIONS).map(([k, c]) => ({selector: `edge[relation = "${k}"]`,
                                                      style: {"line-color": c}})),
      {selector: "edge.contested", style: {"line-style": "dashed"}},
    ],
    layout: {name: "concentric", concentric: n => 10 - n.data("hop"), levelWidth: () => 1,
             minNodeSpacing: 18, animate: false},
  });
  cy.on("tap", "node", ev => { const h = ev.target.data("href"); if (h) window.location = h; });
  window.kbNetwork = cy;
  box.dataset.nodes = String(data.nodes.length);
  const list = document.getElementById("tl-actors");  // suggestions for the timeline's lanes
  if (list) {
    list.replaceChildren(...data.nodes.filter(n => n.href).map(n => {
      const o = document.createElement("option");
      o.value = n.href.slice("/id/".length);
      o.label = n.label;
      return o;
    }));
  }
}

// -- timeline -----------------------------------------------------------------------------
const DAY = 86400000;
const day = s => Date.parse(`${s}T00:00:00Z`);

function svg(name, attrs, parent) {
  const el = document.createElementNS(SVGNS, name);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (parent) parent.appendChild(el);
  return el;
}

function drawTimeline(box, lanes) {
  box.replaceChildren();
  const dated = lanes.flatMap(l => l.items).filter(i => i.earliest || i.latest);
  const lo = Math.min(...dated.map(i => day(i.earliest || i.latest)));
  const hi = Math.max(...dated.map(i => day(i.endLatest || i.latest || i.endEarliest ||
                                           i.earliest))) + DAY;
  const width = Math.max(box.clientWidth, 700), left = 180, right = 30, rowH = 12;
  const x = t => left + (t - lo) / Math.max(hi - lo, DAY) * (width - left - right);
  let y = 28;
  const root = svg("svg", {width, class: "timeline-svg", role: "img"}, box);
  const defs = svg("defs", {}, root);
  const marker = svg("marker", {id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5,
                                markerWidth: 10, markerHeight: 10, markerUnits: "userSpaceOnUse",
                                orient: "auto-start-reverse"}, defs);
  svg("path", {d: "M0,0 L10,5 L0,10 z", class: "arrowhead"}, marker);
  const y0 = new Date(lo).getUTCFullYear(), y1 = new Date(hi).getUTCFullYear();
  const step = Math.max(1, Math.ceil((y1 - y0 + 1) / 14));
  for (let yr = y0; yr <= y1 + 1; yr += step) {
    const t = Date.UTC(yr, 0, 1);
    if (t < lo || t > hi) continue;
    svg("line", {x1: x(t), x2: x(t), y1: 18, y2: "100%", class: "tick"}, root);
    svg("text", {x: x(t) + 2, y: 12, class: "tick-label"}, root).textContent = String(yr);
  }
  for (const lane of lanes) {
    const laneTop = y;
    const rows = [];  // the right end of the last bar on each row
    const g = svg("g", {class: "lane", "data-actor": lane.id}, root);
    for (const item of lane.items) {
      if (!item.earliest && !item.latest) continue;
      // only one bound known: a short stub with an arrow pointing the open way
      const openStart = !item.earliest, openEnd = !openStart && !item.latest && !item.endLatest;
      const STUB = 36;
      let a, b;
      if (openStart) {
        b = x(day(item.latest) + DAY);
        a = Math.max(left, b - STUB);
      } else {
        a = x(day(item.earliest));
        const endDay = item.endLatest || item.endEarliest || item.latest;
        b = item.open ? width - right : openEnd ? a + STUB : x(day(endDay) + DAY);
      }
      b = Math.max(b, a + 4);
      let row = rows.findIndex(r => r < a - 2);
      if (row < 0) { row = rows.length; rows.push(0); }
      rows[row] = b;
      const cy = laneTop + row * rowH + 6;
      const link = svg("a", {href: item.href}, g);
      const bar = svg("line", {x1: a, x2: b, y1: cy, y2: cy,
        class: `bar rel-${item.kind.split(", ")[0]}${item.contested ? " contested" : ""}` +
               `${item.derived ? " derived" : ""}`,
        "data-fact": item.fact, "data-x": a.toFixed(1)}, link);
      if (openEnd || item.open) bar.setAttribute("marker-end", "url(#arrow)");
      if (openStart) bar.setAttribute("marker-start", "url(#arrow)");
      const when = item.date || [item.earliest, item.latest].filter(Boolean).join(" … ");
      svg("title", {}, link).textContent = `${when}${item.derived ? " (derived)" : ""}: ` +
        `${item.label}${item.status ? ` [${item.status}]` : ""}`;
    }
    const h = Math.max(rows.length, 1) * rowH + 10;
    svg("text", {x: 4, y: laneTop + 10, class: "lane-label"}, root).textContent = lane.label;
    svg("line", {x1: 0, x2: width, y1: laneTop + h - 3, y2: laneTop + h - 3, class: "lane-sep"},
        root);
    y += h;
  }
  root.setAttribute("height", y + 6);
  box.dataset.lanes = String(lanes.length);
}

async function loadTimeline(box, actors) {
  const params = new URLSearchParams();
  for (const a of actors) params.append("actor", a);
  try {
    const data = await getJSON(`${box.dataset.src}?${params}`);
    drawTimeline(box, data.lanes);
    return true;
  } catch (err) {
    box.textContent = `timeline: ${err.message}`;
    box.classList.add("error");
    return false;
  }
}

function start() {
  const net = document.getElementById("network");
  const tl = document.getElementById("timeline");
  if (net) {
    pending.add("network");
    const redraw = () => drawNetwork(net).catch(err => {
      document.getElementById("net-message").textContent = `network: ${err.message}`;
    }).finally(() => ready("network"));
    for (const id of ["net-hops", "net-from", "net-to"]) {
      document.getElementById(id).addEventListener("change", redraw);
    }
    redraw();
  }
  if (tl) {
    pending.add("timeline");
    const extra = [];
    loadTimeline(tl, extra).finally(() => ready("timeline"));
    document.getElementById("tl-add").addEventListener("click", () => {
      const input = document.getElementById("tl-actor");
      const v = input.value.trim();
      if (!v) return;
      extra.push(v);
      input.value = "";
      loadTimeline(tl, extra);
    });
  }
  if (pending.size === 0) document.body.dataset.ready = "true";
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
