// The mesos-rs web UI: masters, agents, frameworks, tasks, roles and metrics, live.
//
// Every read goes through the master that served this page: its own `/master/raft`
// names the HA group, and `/master/proxy/<ip:port>/<path>` reads any member (a master or
// an agent) server-side, so the page works from a follower, and the agents' `/files`
// endpoints need no CORS (master/src/http/web_proxy.rs). Polling is cheap: the raft
// status and metrics of each master every 3 s, the leader's `/master/state` every 3 s
// (Mesos's own UI reads state every 5 s), the message rings every second (flow.js).
"use strict";

const UI = {
  masters: [],      // [{address, raft, metrics, down}]
  leader: null,     // "ip:port" of the leading master
  state: null,      // the leader's /master/state
  roles: [],        // the leader's /master/roles
  detail: null,     // what the detail panel shows: {kind, id}
  tail: null,       // the followed sandbox file: {agent, path, offset, timer}
};

// This master's own endpoints need no proxy (and `location.host` may be a name).
function proxied(address, path) { return address === location.host ? path : "/master/proxy/" + address + path; }

async function getJson(url) {
  const response = await fetch(url, { cache: "no-store" });
  if (!response.ok) throw new Error(url + ": " + response.status);
  return response.json();
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "onclick") node.addEventListener("click", v);
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : String(c === undefined || c === null ? "" : c));
  return node;
}
function row(cells, attrs) { return el("tr", attrs, ...cells.map(c => el("td", {}, c))); }
function fill(id, rows) { document.getElementById(id).replaceChildren(...rows); }
function pill(textValue, cls) { return el("span", { class: "pill " + (cls || "") }, textValue); }
function num(v) { return Number.isInteger(v) ? String(v) : Number(v).toFixed(2); }
function res(r) {
  if (!r) return "";
  return ["cpus", "gpus", "mem", "disk", "ports"].filter(k => r[k] !== undefined && r[k] !== 0 && r[k] !== "")
    .map(k => k + ":" + (typeof r[k] === "number" ? num(r[k]) : r[k])).join(" ");
}
function when(secs) { return secs ? new Date(secs * 1000).toLocaleTimeString() : ""; }
function duration(secs) {
  if (secs === undefined || secs === null) return "";
  const s = Math.floor(secs);
  return s >= 3600 ? Math.floor(s / 3600) + "h" + Math.floor(s % 3600 / 60) + "m"
    : s >= 60 ? Math.floor(s / 60) + "m" + (s % 60) + "s" : s + "s";
}
function pidAddress(pid) { return pid ? pid.slice(pid.indexOf("@") + 1) : ""; }

// DRF's dominant share: the largest fraction of any one scalar the cluster has.
function dominantShare(used) {
  const total = clusterTotal();
  let share = 0;
  for (const k of ["cpus", "gpus", "mem", "disk"]) {
    if (used && total[k] > 0 && used[k]) share = Math.max(share, used[k] / total[k]);
  }
  return share;
}
function clusterTotal() {
  const total = {};
  for (const a of (UI.state ? UI.state.slaves : [])) {
    for (const k of ["cpus", "gpus", "mem", "disk"]) total[k] = (total[k] || 0) + (a.resources[k] || 0);
  }
  return total;
}
function percent(x) { return (100 * x).toFixed(1) + "%"; }

// --- masters -------------------------------------------------------------------------

async function refreshMasters() {
  let members;
  try {
    const raft = await getJson("/master/raft");
    members = raft.members.map(m => m.address).filter(Boolean);
  } catch (e) {
    members = [location.host]; // --registry=in_memory: a single master, no raft.
  }
  UI.masters = await Promise.all(members.map(async address => {
    const [raft, metrics] = await Promise.all([
      getJson(proxied(address, "/master/raft")).catch(() => null),
      getJson(proxied(address, "/metrics/snapshot")).catch(() => null),
    ]);
    return { address, raft, metrics, down: !raft && !metrics };
  }));
  const leading = UI.masters.find(m => m.raft && m.raft.leading)
    || UI.masters.find(m => m.metrics && m.metrics["master/elected"] === 1);
  UI.leader = leading ? leading.address : (members.length === 1 ? members[0] : null);
  renderMasters();
}

function renderMasters() {
  fill("masters", UI.masters.map(m => {
    const r = m.raft || {};
    const isLeader = m.address === UI.leader;
    const status = m.down ? pill("down", "down") : isLeader ? pill("leader", "leader") : pill("follower");
    const uptime = m.metrics ? duration(m.metrics["master/uptime_secs"]) : "";
    return row([m.address + (m.address === location.host ? " (this page)" : ""), status,
      r.role || "", r.term ?? "", r.commit !== undefined ? r.commit + " / " + r.applied : "",
      r.leader_address || "", uptime],
    { class: isLeader ? "leader" : "", "data-address": m.address, "data-status": m.down ? "down" : isLeader ? "leader" : "follower" });
  }));
  const leaderText = UI.leader ? "leader " + UI.leader : "no leader elected";
  const s = UI.state;
  document.getElementById("summary").textContent = leaderText + " · page served by " + location.host
    + (s ? " · " + s.slaves.length + " agents · " + s.frameworks.length + " frameworks · version " + s.version : "");
  const metrics = UI.masters.find(m => m.address === UI.leader);
  renderMetrics(metrics && metrics.metrics);
}

// --- metrics -------------------------------------------------------------------------

const FIGURES = [
  ["master/elected", "elected"], ["master/uptime_secs", "uptime (s)"],
  ["master/slaves_active", "agents active"], ["master/frameworks_active", "frameworks active"],
  ["master/outstanding_offers", "offers outstanding"],
  ["master/tasks_staging", "tasks staging"], ["master/tasks_starting", "tasks starting"],
  ["master/tasks_running", "tasks running"], ["master/tasks_finished", "tasks finished"],
  ["master/tasks_failed", "tasks failed"], ["master/tasks_killed", "tasks killed"],
  ["master/tasks_lost", "tasks lost"],
  // The leader's mailbox, by kind (Mesos's event_queue_* gauges).
  ["master/event_queue_messages", "event queue: messages"],
  ["master/event_queue_dispatches", "event queue: dispatches"],
  ["master/event_queue_http_requests", "event queue: HTTP requests"],
  ["master/messages_run_task", "messages: run task"],
  ["master/messages_status_update", "messages: status update"], ["master/messages_launch_tasks", "messages: launch tasks"],
  ["master/messages_register_slave", "messages: register agent"], ["master/valid_status_updates", "valid status updates"],
  ["registrar/raft_messages_sent", "raft messages sent"], ["registrar/raft_messages_received", "raft messages received"],
  ["allocator/mesos/resources/cpus/total", "cpus total"], ["allocator/mesos/resources/cpus/offered_or_allocated", "cpus offered or allocated"],
  ["allocator/mesos/resources/mem/total", "mem total"], ["allocator/mesos/resources/mem/offered_or_allocated", "mem offered or allocated"],
  ["libprocess/mailbox_full", "mailbox full (refused)"], ["libprocess/outbound_dropped", "outbound dropped"],
  // Registry commits, submit to applied (Mesos's registrar/* metrics); the percentiles
  // appear once two commits were measured.
  ["registrar/state_store_ms", "registrar commit, last (ms)"],
  ["registrar/state_store_ms/p50", "registrar commit p50 (ms)"],
  ["registrar/state_store_ms/p99", "registrar commit p99 (ms)"],
  ["registrar/state_store_ms/max", "registrar commit max (ms)"],
  ["registrar/state_store_ms/count", "registrar commits measured"],
  ["registrar/queued_operations", "registrar queued operations"],
  ["registrar/state_fetch_ms", "registry read at election (ms)"],
  ["registrar/registry_size_bytes", "registry size (bytes)"],
  ["allocator/mesos/allocation_runs", "allocation runs"],
];

function renderMetrics(m) {
  if (!m) { fill("metrics", []); return; }
  const shown = FIGURES.filter(([k]) => m[k] !== undefined)
    .map(([k, label]) => el("div", { title: k }, el("dt", {}, label), el("dd", {}, num(m[k]))));
  fill("metrics", shown);
}

// --- the leader's state --------------------------------------------------------------

async function refreshState() {
  if (!UI.leader) return;
  const [state, roles] = await Promise.all([
    getJson(proxied(UI.leader, "/master/state")),
    getJson(proxied(UI.leader, "/master/roles")).catch(() => ({ roles: [] })),
  ]);
  UI.state = state;
  UI.roles = roles.roles || [];
  renderState();
}

function allTasks() {
  const s = UI.state;
  if (!s) return [];
  return s.frameworks.flatMap(f => f.tasks.concat(f.unreachable_tasks || [], f.completed_tasks || []));
}

function renderState() {
  const s = UI.state;
  const tasks = allTasks();
  fill("agents", s.slaves.map(a => row([a.id, a.pid, res(a.resources), res(a.used_resources),
    res(a.offered_resources), Object.entries(a.reserved_resources || {}).map(([r, v]) => r + "{" + res(v) + "}").join(" "),
    Object.entries(a.attributes || {}).map(([k, v]) => k + ":" + v).join(" "), when(a.registered_time),
    a.active ? "yes" : "no", tasks.filter(t => t.slave_id === a.id && t.state === "TASK_RUNNING").length],
  { class: "clickable", "data-agent": a.id, onclick: () => showDetail("agent", a.id) })));
  fill("frameworks", s.frameworks.map(f => row([f.id, f.name, (f.roles || [f.role]).join(","), f.principal || "",
    percent(dominantShare(f.used_resources)), f.tasks.length, (f.offers || []).length, f.active ? "yes" : "no",
    duration(f.failover_timeout)],
  { class: "clickable", "data-framework": f.id, onclick: () => showDetail("framework", f.id) })));
  fill("tasks", tasks.map(t => {
    const last = (t.statuses || [])[t.statuses.length - 1];
    return row([t.id, t.name, t.framework_id, t.slave_id, pill(t.state, t.state), last ? when(last.timestamp) : ""],
      { class: "clickable", "data-task": t.id, onclick: () => showDetail("task", t.id + "|" + t.framework_id) });
  }));
  fill("roles", UI.roles.map(r => row([r.name, r.weight, res(r.allocated), res(r.offered),
    percent(dominantShare(r.allocated)), (r.frameworks || []).join(", ")])));
  renderMasters();
  if (UI.detail) renderDetail();
}

// --- details: an agent, a framework, a task with its sandbox --------------------------

function showDetail(kind, id) {
  stopTail();
  UI.detail = { kind, id };
  document.getElementById("detail").replaceChildren(); // a new sandbox for a new task
  renderDetail();
  document.getElementById("detail-panel").hidden = false;
}

function kv(pairs) {
  return el("table", {}, el("tbody", {}, ...pairs.map(([k, v]) => row([k, v]))));
}

function renderDetail() {
  const { kind, id } = UI.detail;
  const s = UI.state;
  const box = document.getElementById("detail");
  const title = document.getElementById("detail-title");
  if (kind === "agent") {
    const a = s.slaves.find(x => x.id === id);
    if (!a) return;
    title.textContent = "Agent " + a.id;
    const tasks = allTasks().filter(t => t.slave_id === a.id);
    box.replaceChildren(kv([["pid", a.pid], ["hostname", a.hostname], ["total", res(a.resources)],
      ["used", res(a.used_resources)], ["offered", res(a.offered_resources)], ["registered", when(a.registered_time)],
      ["active", a.active ? "yes" : "no"], ["version", a.version || ""]]),
    el("h3", {}, "Executors and tasks"),
    el("table", {}, el("tbody", {}, ...tasks.map(t => row([t.executor_id || "(command)", t.id, pill(t.state, t.state)])))));
  } else if (kind === "framework") {
    const f = s.frameworks.find(x => x.id === id);
    if (!f) return;
    title.textContent = "Framework " + f.name;
    box.replaceChildren(kv([["id", f.id], ["pid", f.pid || ""], ["user", f.user], ["roles", (f.roles || []).join(",")],
      ["principal", f.principal || ""], ["used", res(f.used_resources)], ["offered", res(f.offered_resources)],
      ["dominant share", percent(dominantShare(f.used_resources))], ["registered", when(f.registered_time)],
      ["failover timeout", duration(f.failover_timeout)], ["hostname", f.hostname || ""]]));
  } else if (kind === "task") {
    const [taskId, frameworkId] = id.split("|");
    const t = allTasks().find(x => x.id === taskId && x.framework_id === frameworkId);
    if (!t) return;
    title.textContent = "Task " + t.id;
    const history = el("table", { id: "task-statuses" }, el("thead", {}, row(["time", "state", "source", "reason", "message"])),
      el("tbody", {}, ...(t.statuses || []).map(st => row([when(st.timestamp), pill(st.state, st.state),
        st.source || "", st.reason || "", st.message || ""]))));
    const sandbox = document.getElementById("sandbox") || el("div", { id: "sandbox" });
    box.replaceChildren(kv([["name", t.name], ["framework", t.framework_id], ["agent", t.slave_id],
      ["executor", t.executor_id || "(command executor)"], ["state", t.state], ["resources", res(t.resources)]]),
    el("h3", {}, "Status updates"), history, el("h3", {}, "Sandbox"), sandbox);
    if (!sandbox.dataset.task) openSandbox(t, sandbox);
  }
}

// The sandbox: the agent's /slave(1)/state names the executor's directory; its
// /files/browse lists it and /files/read pages through a file (Mesos: files.cpp).
async function openSandbox(task, box) {
  box.dataset.task = task.id;
  const agent = UI.state.slaves.find(a => a.id === task.slave_id);
  if (!agent) { box.textContent = "agent not registered"; return; }
  const address = pidAddress(agent.pid);
  try {
    const agentState = await getJson(proxied(address, "/slave(1)/state"));
    const directory = findDirectory(agentState, task);
    if (!directory) { box.textContent = "the agent has no sandbox for this task"; return; }
    const listing = await getJson(proxied(address, "/files/browse?path=" + encodeURIComponent(directory)));
    const output = el("pre", { id: "sandbox-output" }, "");
    const files = el("ul", { id: "sandbox-files" }, ...listing.map(f => {
      const name = f.path.slice(f.path.lastIndexOf("/") + 1);
      const link = el("a", { href: "#", "data-file": name, onclick: ev => { ev.preventDefault(); followFile(address, f.path, name, output); } }, name);
      return el("li", {}, link, " ", el("span", { class: "muted" }, f.size + " bytes"));
    }));
    box.replaceChildren(el("div", { class: "muted small" }, directory), files, output);
    const stdout = listing.find(f => f.path.endsWith("/stdout"));
    if (stdout) followFile(address, stdout.path, "stdout", output);
  } catch (e) {
    box.textContent = "cannot read the sandbox: " + e.message;
  }
}

function findDirectory(agentState, task) {
  for (const f of (agentState.frameworks || []).concat(agentState.completed_frameworks || [])) {
    if (f.id !== task.framework_id) continue;
    for (const e of (f.executors || []).concat(f.completed_executors || [])) {
      const tasks = (e.tasks || []).concat(e.completed_tasks || [], e.queued_tasks || []);
      if (e.id === task.executor_id || e.id === task.id || tasks.some(t => t.id === task.id)) return e.directory;
    }
  }
  return null;
}

// A tail that follows new output: read from the last offset every second.
function followFile(address, path, name, output) {
  stopTail();
  output.textContent = "";
  output.dataset.file = name;
  const tail = { address, path, offset: 0, timer: null };
  UI.tail = tail;
  const step = async () => {
    if (UI.tail !== tail) return;
    try {
      const page = await getJson(proxied(address, "/files/read?path=" + encodeURIComponent(path)
        + "&offset=" + tail.offset + "&length=65536"));
      if (page.data) { output.append(page.data); tail.offset += new TextEncoder().encode(page.data).length; output.scrollTop = output.scrollHeight; }
    } catch (e) { /* the agent may be restarting: keep trying */ }
    if (UI.tail === tail) tail.timer = setTimeout(step, 1000);
  };
  step();
}
function stopTail() { if (UI.tail) { clearTimeout(UI.tail.timer); UI.tail = null; } }

document.getElementById("detail-close").addEventListener("click", () => {
  stopTail(); UI.detail = null; document.getElementById("detail-panel").hidden = true;
  document.getElementById("detail").replaceChildren();
});

// --- the loop ------------------------------------------------------------------------

function report(error) { document.getElementById("error").textContent = error ? String(error.message || error) : ""; }

async function tick() {
  try { await refreshMasters(); await refreshState(); report(null); } catch (e) { report(e); }
  setTimeout(tick, 3000);
}
tick();
