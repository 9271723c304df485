// The page is one literal: the host serves it as it is, and a person can
// read (and a test can save) exactly what the browser gets. The ids it
// looks for are FlowDot's (flow_dot.h); idText below is IdText.
#include "host/admin/admin_page.h"

namespace tiny::host {
namespace {

constexpr std::string_view kPage = R"PAGE(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tinyhost</title>
<style>
  :root { --fg: #1d2733; --muted: #66717f; --line: #d5dce4; --bad: #c62828; --good: #2e7d32; }
  body { margin: 0; font: 14px/1.4 system-ui, sans-serif; color: var(--fg); background: #f7f9fb; }
  header { display: flex; flex-wrap: wrap; gap: 0.4em 1.6em; align-items: baseline; padding: 0.7em 1.2em;
           background: #fff; border-bottom: 1px solid var(--line); }
  header h1 { font-size: 1.2em; margin: 0; }
  header .label { color: var(--muted); }
  .ok { color: var(--good); font-weight: 600; }
  .bad { color: var(--bad); font-weight: 600; }
  main { padding: 1em 1.2em; }
  #graph { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 0.5em; overflow: auto; }
  #graph svg { max-width: 100%; height: auto; }
  #graph .edge text { fill: #1565c0; font-weight: 600; }
  #graph .badge text { fill: #fff; font-weight: 700; }
  #graph .badge.has-errors polygon { fill: var(--bad); stroke: var(--bad); }
  #graph .node.stopped polygon, #graph .node.stopped text { opacity: 0.45; }
  #graph .node.state-failed > polygon { stroke: var(--bad); stroke-width: 2; }
  h2 { font-size: 1em; margin: 1.4em 0 0.4em; }
  table { border-collapse: collapse; background: #fff; min-width: 40%; }
  th, td { text-align: left; padding: 0.25em 0.8em; border-bottom: 1px solid var(--line); vertical-align: top; }
  th { color: var(--muted); font-weight: 500; }
  td.num { text-align: right; font-variant-numeric: tabular-nums; }
  #problem { color: var(--bad); }
</style>
</head>
<body data-polls="0">
<header>
  <h1>tinyhost</h1>
  <span><span class="label">build</span> <span id="build">?</span></span>
  <span><span class="label">up</span> <span id="uptime">?</span></span>
  <span><span class="label">ready</span> <span id="ready">?</span></span>
  <span><span class="label">messages</span> <span id="total-messages">0</span></span>
  <span><span class="label">errors</span> <span id="total-errors">0</span></span>
  <span id="problem" role="status"></span>
</header>
<main>
  <section id="graph" aria-label="the loaded flows">Loading the flows&hellip;</section>
  <h2>Nodes</h2>
  <table id="nodes"><thead><tr><th>node</th><th>module/component</th><th>flow</th><th>state</th>
    <th>messages</th><th>errors</th><th>last error</th></tr></thead><tbody></tbody></table>
  <h2>Peers</h2>
  <table id="peers"><thead><tr><th>module</th><th>address</th><th>state</th></tr></thead><tbody></tbody></table>
  <h2>Plugins</h2>
  <table id="plugins"><thead><tr><th>module</th><th>version</th><th>file</th></tr></thead><tbody></tbody></table>
</main>
<script>
"use strict";
const POLL_MS = 1000;
const SVG_NS = "http://www.w3.org/2000/svg";
const XLINK_NS = "http://www.w3.org/1999/xlink";
const STATES = ["new", "starting", "running", "stopping", "stopped", "failed", "remote"];

// undefined: graph.svg still to fetch; null: shown, for flows not yet seen
// in a status; else the nodes and edges (graphKey) the drawing shows.
let shownKey;
let loading = false;
let previous = null;  // {uptime, edges: Map(edge id -> messages)} of the last poll

// FlowDot's IdText: [A-Za-z0-9_-] as they are, every other UTF-8 byte as %XX.
function idText(name) {
  let out = "";
  for (const b of new TextEncoder().encode(String(name))) {
    const c = String.fromCharCode(b);
    out += /^[A-Za-z0-9_-]$/.test(c) ? c : "%" + b.toString(16).toUpperCase().padStart(2, "0");
  }
  return out;
}

function edgeId(edge) {
  const [from, fromPort] = splitAddress(edge.from), [to, toPort] = splitAddress(edge.to);
  return "edge:" + idText(from) + "." + idText(fromPort) + "->" + idText(to) + "." + idText(toPort);
}

function splitAddress(address) {
  const text = String(address), dot = text.indexOf(".");
  return dot < 0 ? [text, ""] : [text.slice(0, dot), text.slice(dot + 1)];
}

function graphKey(status) {
  const nodes = status.nodes.map(n => "n " + n.name), edges = status.edges.map(e => "e " + edgeId(e));
  return nodes.concat(edges).sort().join("\n");
}

function setText(id, text) { document.getElementById(id).textContent = String(text); }

function problem(text) { setText("problem", text); }

// What Graphviz writes is all the drawing needs: no script, no handler,
// no link (the badge cells' href="#" is only there to get their ids out,
// and their anchors' default title is "<TABLE>").
function defuse(svg) {
  for (const bad of svg.querySelectorAll("script, foreignObject")) bad.remove();
  for (const el of svg.querySelectorAll("*")) {
    for (const attr of Array.from(el.attributes))
      if (/^on/i.test(attr.name) || /(^|:)(href|title)$/i.test(attr.name)) el.removeAttributeNode(attr);
  }
}

// Centres each badge's text in its cell, where the count will go.
function prepareBadges(svg) {
  for (const group of svg.querySelectorAll('g[id^="a_badge:"]')) {
    group.classList.add("badge");
    const box = group.querySelector("polygon"), text = group.querySelector("text");
    if (!box || !text) continue;
    const xs = box.getAttribute("points").trim().split(/\s+/).map(p => parseFloat(p.split(",")[0]));
    text.setAttribute("x", String((Math.min(...xs) + Math.max(...xs)) / 2));
    text.setAttribute("text-anchor", "middle");
    text.textContent = "";
  }
}

async function loadGraph(key) {
  loading = true;
  try {
    const response = await fetch("graph.svg", {cache: "no-store"});
    if (!response.ok) throw new Error("graph.svg: HTTP " + response.status);
    const doc = new DOMParser().parseFromString(await response.text(), "image/svg+xml");
    const svg = doc.documentElement;
    if (svg.localName !== "svg" || doc.getElementsByTagName("parsererror").length > 0)
      throw new Error("graph.svg is not an SVG drawing");
    defuse(svg);
    prepareBadges(svg);
    document.getElementById("graph").replaceChildren(document.importNode(svg, true));
    shownKey = key;
    previous = null;  // new elements: their rates start again
  } catch (err) {
    problem(err.message);
  } finally {
    loading = false;
  }
}

function formatRate(rate) { return (rate < 10 ? rate.toFixed(1) : Math.round(rate).toString()) + "/s"; }

function formatUptime(seconds) {
  const s = Math.floor(seconds), d = Math.floor(s / 86400), h = Math.floor(s / 3600) % 24, m = Math.floor(s / 60) % 60;
  return (d ? d + "d " : "") + (d || h ? h + "h " : "") + (d || h || m ? m + "m " : "") + (s % 60) + "s";
}

function showHeader(status) {
  setText("build", status.build.version + " (ABI " + status.build.abi + ")");
  setText("uptime", formatUptime(status.uptime_seconds));
  const ready = document.getElementById("ready");
  ready.textContent = status.ready ? "yes" : "no";
  ready.className = status.ready ? "ok" : "bad";
  setText("total-messages", status.nodes.reduce((sum, n) => sum + n.messages, 0));
  setText("total-errors", status.nodes.reduce((sum, n) => sum + n.errors, 0));
}

function showEdges(status) {
  const now = {uptime: status.uptime_seconds, edges: new Map()};
  const seconds = previous ? now.uptime - previous.uptime : 0;
  for (const edge of status.edges) {
    const id = edgeId(edge);
    now.edges.set(id, edge.messages);
    const group = document.getElementById(id);
    if (!group) continue;
    group.setAttribute("data-messages", String(edge.messages));
    setTitle(group, edge.from + " -> " + edge.to + ": " + edge.messages + " messages");
    const before = previous ? previous.edges.get(id) : undefined;
    if (before === undefined || seconds <= 0) continue;
    const rate = Math.max(0, edge.messages - before) / seconds;
    group.setAttribute("data-rate", rate.toFixed(3));
    const label = group.querySelector("text");
    if (label) label.textContent = formatRate(rate);
  }
  previous = now;
}

function setTitle(group, text) {
  let title = Array.from(group.children).find(c => c.localName === "title");
  if (!title) title = group.insertBefore(document.createElementNS(SVG_NS, "title"), group.firstChild);
  title.textContent = text;
}

function lastErrorText(node) {
  return node.last_error ? node.last_error.message + " (" + node.last_error.time + ")" : "";
}

function showNodes(status) {
  for (const node of status.nodes) {
    const group = document.getElementById("node:" + idText(node.name));
    if (group) {
      for (const state of STATES) group.classList.remove("state-" + state);
      group.classList.add("state-" + node.state);
      group.classList.toggle("stopped", node.state !== "running" && node.state !== "remote");
      group.setAttribute("data-state", node.state);
      group.setAttribute("data-messages", String(node.messages));
      group.setAttribute("data-errors", String(node.errors));
    }
    const badge = document.getElementById("a_badge:" + idText(node.name));
    if (badge) {
      const text = badge.querySelector("text");
      if (text) text.textContent = node.errors > 0 ? String(node.errors) : "";
      badge.classList.toggle("has-errors", node.errors > 0);
      setTitle(badge, node.errors > 0 ? node.errors + " errors; last: " + lastErrorText(node) : "no errors");
    }
  }
}

// Rows of text cells (textContent: what the host says stays text).
function fillTable(id, rows) {
  const body = document.querySelector("#" + id + " tbody");
  body.replaceChildren(...rows.map(cells => {
    const tr = document.createElement("tr");
    for (const cell of cells) {
      const td = document.createElement("td");
      td.textContent = String(cell);
      if (typeof cell === "number") td.className = "num";
      tr.appendChild(td);
    }
    return tr;
  }));
}

function showTables(status) {
  fillTable("nodes", status.nodes.map(n => [n.name, n.module + "/" + n.component, n.flow, n.state, n.messages,
                                            n.errors, lastErrorText(n)]));
  fillTable("peers", status.peers.map(p => [p.module, p.address, p.state]));
  fillTable("plugins", status.plugins.map(p => [p.module, p.version, p.file]));
}

async function poll() {
  try {
    const response = await fetch("status", {cache: "no-store"});
    if (!response.ok) throw new Error("status: HTTP " + response.status);
    const status = await response.json();
    const key = graphKey(status);
    if (shownKey === null) shownKey = key;
    if (shownKey !== key && !loading) await loadGraph(key);
    showHeader(status);
    showEdges(status);
    showNodes(status);
    showTables(status);
    problem("");
    document.body.dataset.polls = String(Number(document.body.dataset.polls) + 1);
  } catch (err) {
    problem("cannot read the status: " + err.message);
  } finally {
    setTimeout(poll, POLL_MS);
  }
}

loadGraph(null).then(poll);
</script>
</body>
</html>
)PAGE";

}  // namespace

std::string_view AdminPageHtml() { return kPage; }

}  // namespace tiny::host
