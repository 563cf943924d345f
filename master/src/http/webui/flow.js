// The live message flow: a sequence diagram of the messages every master and agent
// sent and received, read from each node's message ring (`/master/messages`,
// `/slave(1)/messages`, through this master's proxy), merged by time.
//
// Each node answers `{"node", "next", "dropped", "messages": [{seq, time, direction,
// from, to, name, size}]}` after the cursor `after`; the first read arms the ring.
// A message between two nodes this page reads appears in both rings (out at the
// sender, in at the receiver): the sender's record is kept, unless the sender's ring
// was not recording then (not armed yet, or restarted since: a killed and restarted
// agent re-registers before the page reads its new ring). Messages to or from
// schedulers and executors (nodes the page does not read) come from the one ring that
// saw them. Drawn as SVG with <text>, so names are in the DOM exactly as on the wire.
"use strict";

const FLOW = {
  nodes: new Map(),   // "ip:port" -> {prefix, after, missing}
  messages: [],       // merged, oldest first: {key, node, prefix, seq, time, from, to, name, size}
  seen: new Set(),    // keys already merged
  bodies: new Map(),  // key -> decoded body (or null while loading)
  selected: null,
  KEEP: 2000,         // merged messages kept in the page (older ones fall off)
  SHOWN: 150,         // rows drawn (the newest that pass the filters)
};

function flowNodes() {
  const nodes = [];
  for (const m of UI.masters) if (!m.down) nodes.push([m.address, "/master"]);
  for (const a of (UI.state ? UI.state.slaves : [])) nodes.push([pidAddress(a.pid), "/slave(1)"]);
  return nodes;
}

// A node's ring records only while someone reads it, and starts over when the node
// restarts (an agent that was killed and restarted): `covered` is the time from which the
// page has every message of that node's ring, null until its first message arrives.
// Reads the node's new entries and moves its cursor; `mergeMessages` adds them.
async function pollNode(address, prefix) {
  let node = FLOW.nodes.get(address);
  if (!node) { node = { prefix, after: null, missing: false, covered: null, epoch: 0 }; FLOW.nodes.set(address, node); }
  const after = node.after === null ? "" : "after=" + node.after + "&";
  const response = await fetch(proxied(address, prefix + "/messages?" + after + "limit=1000"), { cache: "no-store" });
  if (response.status === 404) { node.missing = true; return []; }
  if (!response.ok) return [];
  const ring = await response.json();
  // A cursor past the ring's end: the node restarted with a fresh ring (its seqs start
  // over, so its entries get keys of a new epoch) and is covered anew from its next message.
  if (node.after !== null && ring.next < node.after) { node.covered = null; node.epoch++; }
  node.missing = false;
  node.after = ring.next;
  const messages = ring.messages || [];
  if (node.covered === null && messages.length > 0) node.covered = messages[0].time;
  return messages.map(m => ({ ...m, node: address, prefix, epoch: node.epoch }));
}

// Adds the entries of one round of reads (after every node's `covered` is updated, so
// the order the reads finished in does not matter).
function mergeMessages(entries) {
  for (const m of entries) {
    const fromNode = pidAddress(m.from);
    // The sender's ring has it too if the page was reading that ring when it was sent:
    // keep the sender's copy then. Otherwise (the sender's ring was not armed yet, or the
    // sender restarted since) this receiver's copy is the only one.
    const sender = FLOW.nodes.get(fromNode);
    if (m.direction === "in" && fromNode !== m.node && sender && sender.covered !== null && m.time >= sender.covered) continue;
    const key = m.node + "#" + m.epoch + "#" + m.seq;
    if (FLOW.seen.has(key)) continue;
    FLOW.seen.add(key);
    FLOW.messages.push({ key, node: m.node, prefix: m.prefix, seq: m.seq, time: m.time, from: m.from, to: m.to, name: m.name, size: m.size });
  }
}

async function flowTick() {
  try {
    if (!document.getElementById("flow-pause").checked) {
      const pages = await Promise.all(flowNodes().map(([address, prefix]) => pollNode(address, prefix).catch(() => [])));
      mergeMessages(pages.flat());
      FLOW.messages.sort((a, b) => a.time - b.time);
      if (FLOW.messages.length > FLOW.KEEP) {
        for (const m of FLOW.messages.splice(0, FLOW.messages.length - FLOW.KEEP)) { FLOW.seen.delete(m.key); FLOW.bodies.delete(m.key); }
      }
      await drawFlow();
    }
  } catch (e) { document.getElementById("flow-status").textContent = String(e); }
  setTimeout(flowTick, 1000);
}

// Lanes: masters, agents, schedulers, executors, then anything else.
function laneKind(pid) {
  const id = pid.slice(0, pid.indexOf("@"));
  if (id.startsWith("master")) return 0;
  if (id.startsWith("slave")) return 1;
  if (id.startsWith("scheduler") || id.startsWith("framework")) return 2;
  if (id.startsWith("executor")) return 3;
  return 4;
}

async function bodyOf(m) {
  if (FLOW.bodies.has(m.key) && FLOW.bodies.get(m.key) !== null) return FLOW.bodies.get(m.key);
  const answer = await getJson(proxied(m.node, m.prefix + "/messages/body?seq=" + m.seq)).catch(() => ({ body: null, gone: true }));
  FLOW.bodies.set(m.key, answer);
  return answer;
}

// Framework and task filters match the pids, the name, or the decoded body (fetched
// for the newest candidates only, at most 40 per redraw).
async function passes(m, f, budget) {
  if (f.name && !m.name.toLowerCase().includes(f.name)) return false;
  if (f.agent && !(m.from + m.to).includes(f.agentPid || f.agent)) return false;
  for (const needle of [f.framework, f.task]) {
    if (!needle) continue;
    if ((m.from + m.to).includes(needle)) continue;
    if (!FLOW.bodies.has(m.key)) { if (budget.left-- <= 0) return false; await bodyOf(m); }
    const body = FLOW.bodies.get(m.key);
    if (!body || !JSON.stringify(body.body).includes(needle)) return false;
  }
  return true;
}

function filters() {
  const v = id => document.getElementById(id).value.trim();
  const f = { framework: v("filter-framework"), task: v("filter-task"), agent: v("filter-agent"), name: v("filter-name").toLowerCase() };
  const agent = UI.state && f.agent && UI.state.slaves.find(a => a.id === f.agent);
  if (agent) f.agentPid = agent.pid;
  return f;
}

function svg(tag, attrs, textValue) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (textValue !== undefined) node.textContent = textValue;
  return node;
}

async function drawFlow() {
  const f = filters();
  const budget = { left: 40 };
  const shown = [];
  for (let i = FLOW.messages.length - 1; i >= 0 && shown.length < FLOW.SHOWN; i--) {
    if (await passes(FLOW.messages[i], f, budget)) shown.push(FLOW.messages[i]);
  }
  shown.reverse();
  const lanes = [...new Set(shown.flatMap(m => [m.from, m.to]))].sort((a, b) => laneKind(a) - laneKind(b) || a.localeCompare(b));
  const LANE = 230, ROW = 26, TOP = 40, LEFT = 90;
  const x = pid => LEFT + lanes.indexOf(pid) * LANE + LANE / 2;
  const box = document.getElementById("flow");
  const height = TOP + shown.length * ROW + 20;
  box.setAttribute("width", LEFT + lanes.length * LANE);
  box.setAttribute("height", height);
  const parts = [];
  for (const pid of lanes) {
    parts.push(svg("text", { x: x(pid), y: 16, "text-anchor": "middle", class: "lane-label" }, pid));
    parts.push(svg("line", { x1: x(pid), y1: 24, x2: x(pid), y2: height, class: "lifeline" }));
  }
  shown.forEach((m, i) => {
    const y = TOP + i * ROW + 14;
    const [x1, x2] = [x(m.from), x(m.to)];
    const g = svg("g", { class: "msg" + (FLOW.selected === m.key ? " selected" : ""), "data-name": m.name, "data-key": m.key });
    g.append(svg("title", {}, m.from + " → " + m.to + " · " + m.size + " bytes"));
    g.append(svg("text", { x: 4, y }, new Date(m.time * 1000).toLocaleTimeString()));
    const dir = x2 >= x1 ? 1 : -1;
    g.append(svg("line", { x1, y1: y, x2: x2 - dir * 4, y2: y, class: "arrow" }));
    g.append(svg("path", { d: `M${x2},${y} l${-dir * 7},-4 l0,8 z`, fill: "#2557a7" }));
    g.append(svg("text", { x: (x1 + x2) / 2, y: y - 4, "text-anchor": "middle", class: "msg-name" }, m.name));
    g.addEventListener("click", () => showMessage(m));
    parts.push(g);
  });
  box.replaceChildren(...parts);
  const missing = [...FLOW.nodes.entries()].filter(([, n]) => n.missing).map(([a]) => a);
  document.getElementById("flow-status").textContent = FLOW.messages.length + " messages from " + FLOW.nodes.size + " nodes"
    + (missing.length ? " · no message ring at " + missing.join(", ") : "");
}

async function showMessage(m) {
  FLOW.selected = m.key;
  const panel = document.getElementById("message-detail");
  panel.hidden = false;
  document.getElementById("message-title").textContent = m.name + " · " + m.from + " → " + m.to + " · seq " + m.seq + " at " + m.node;
  const out = document.getElementById("message-body");
  out.textContent = "loading…";
  const answer = await bodyOf(m);
  out.textContent = answer.gone ? "the body is no longer in the ring"
    : answer.undecodable ? "not a known protobuf type: " + m.name : JSON.stringify(answer.body, null, 2);
}

for (const id of ["filter-framework", "filter-task", "filter-agent", "filter-name"]) {
  document.getElementById(id).addEventListener("input", () => drawFlow());
}
flowTick();
