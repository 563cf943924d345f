// The web UI in a real browser: headless Debian chromium driven by playwright-core
// against a live mesos-local that tests/webui.rs started. Every wait is on a page
// condition (waitForFunction with a timeout), never a fixed sleep. Prints one line per
// step and closes with "N passed, N failed"; exits 1 on a failure.
//
// Environment (set by tests/webui.rs):
//   WEBUI_FOLLOWER   ip:port of a follower (the page is opened there)
//   WEBUI_LEADER     ip:port of the leader; WEBUI_LEADER_OS_PID its OS pid (killed -9)
//   WEBUI_MASTERS    how many masters; WEBUI_AGENTS how many agents
//   WEBUI_LAUNCH     JSON argv of a scheduler that starts one long-running task
//   WEBUI_STDOUT     a line that task prints
//   WEBUI_AGENT_OS_PIDS  JSON {"ip:port": OS pid} of the agents (the task's agent is
//                    killed -9; mesos-local restarts it)
//   WEBUI_SHOTS      folder for the screenshots
import { chromium } from "playwright-core";
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";

const env = process.env;
const FOLLOWER = env.WEBUI_FOLLOWER, LEADER = env.WEBUI_LEADER;
const MASTERS = Number(env.WEBUI_MASTERS), AGENTS = Number(env.WEBUI_AGENTS);
const WAIT = 60000;
let passed = 0, failed = 0;
mkdirSync(env.WEBUI_SHOTS, { recursive: true });

async function step(name, body) {
  try { await body(); passed++; console.log("ok   " + name); }
  catch (e) { failed++; console.log("FAIL " + name + ": " + e.message); throw e; }
}

const browser = await chromium.launch({
  executablePath: env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync"],
});
let scheduler = null;
const page = await browser.newPage({ viewport: { width: 1500, height: 1300 } });
const shot = name => page.screenshot({ path: `${env.WEBUI_SHOTS}/${name}.png`, fullPage: true });
try {
  await step(`opened at the follower ${FOLLOWER}, the page shows ${MASTERS} masters and the leader ${LEADER}`, async () => {
    await page.goto(`http://${FOLLOWER}/`);
    await page.waitForFunction(([n, leader]) => {
      const rows = [...document.querySelectorAll("#masters tr")];
      return rows.length === n && rows.some(r => r.dataset.status === "leader" && r.dataset.address === leader)
        && document.getElementById("summary").textContent.includes("leader " + leader);
    }, [MASTERS, LEADER], { timeout: WAIT });
  });
  await step(`the page shows both agents and reads every node's message ring`, async () => {
    await page.waitForFunction(n => document.querySelectorAll("#agents tr").length === n, AGENTS, { timeout: WAIT });
    await page.waitForFunction(n => document.getElementById("flow-status").textContent.includes(`from ${n} nodes`),
      MASTERS + AGENTS, { timeout: WAIT });
  });
  await step("a task started by a scheduler shows as TASK_RUNNING", async () => {
    const [program, ...args] = JSON.parse(env.WEBUI_LAUNCH);
    scheduler = spawn(program, args, { stdio: "ignore" });
    await page.waitForFunction(() => [...document.querySelectorAll("#tasks tr")].some(r => r.textContent.includes("TASK_RUNNING")),
      null, { timeout: WAIT });
    await shot("webui-overview");
  });
  await step("the task's detail shows its status updates and follows its stdout", async () => {
    await page.click("#tasks tr:has-text('TASK_RUNNING')");
    await page.waitForFunction(() => document.querySelectorAll("#task-statuses tbody tr").length >= 1, null, { timeout: WAIT });
    await page.waitForFunction(text => (document.getElementById("sandbox-output") || {}).textContent?.includes(text),
      env.WEBUI_STDOUT, { timeout: WAIT });
    await page.locator("#detail-panel").scrollIntoViewIfNeeded();
    await shot("webui-task");
  });
  const ring = await page.evaluate(async leader => (await fetch(`/master/proxy/${leader}/master/messages?limit=1`)).status, LEADER);
  if (ring === 404) {
    console.log("skip the real sequence diagram: this build has no message ring (/master/messages answers 404)");
    await step("with a faked message ring (the /messages contract, served by page.route), the diagram draws the message and its body", async () => {
      const name = "mesos.internal.RunTaskMessage";
      const agent = await page.evaluate(() => UI.state.slaves[0].pid);
      let served = false;
      await page.route(url => url.pathname.endsWith("/messages") || url.pathname.endsWith("/messages/body"), route => {
        const url = new URL(route.request().url());
        const mine = url.pathname.includes(LEADER + "/master/");
        if (url.pathname.endsWith("/body")) {
          return route.fulfill({ json: { seq: 1, name, body: { task: { task_id: { value: "faked-task" } } } } });
        }
        const messages = mine && !served ? [{ seq: 1, time: Date.now() / 1000, direction: "out",
          from: "master@" + LEADER, to: agent, name, size: 312 }] : [];
        if (mine) served = true;
        return route.fulfill({ json: { node: LEADER, next: 2, dropped: 0, messages } });
      });
      await page.fill("#filter-task", "faked-task");
      await page.waitForFunction(n => [...document.querySelectorAll("#flow text")].some(t => t.textContent === n), name, { timeout: WAIT });
      await page.check("#flow-pause");
      await page.click(`#flow g.msg[data-name="${name}"] text.msg-name`);
      await page.waitForFunction(() => document.getElementById("message-body").textContent.includes("faked-task"), null, { timeout: WAIT });
      await page.unrouteAll();
      await page.fill("#filter-task", "");
      await page.uncheck("#flow-pause");
    });
  } else {
    await step("the sequence diagram shows the task's mesos.internal.RunTaskMessage and its body", async () => {
      const name = "mesos.internal.RunTaskMessage";
      await page.fill("#filter-name", "RunTask");
      await page.waitForFunction(n => [...document.querySelectorAll("#flow text")].some(t => t.textContent === n), name, { timeout: WAIT });
      await page.check("#flow-pause"); // the diagram stops redrawing under the click
      await page.click(`#flow g.msg[data-name="${name}"] text.msg-name`);
      await page.waitForFunction(() => document.getElementById("message-body").textContent.includes("task_id"), null, { timeout: WAIT });
      await page.locator("#flow-panel").scrollIntoViewIfNeeded();
      await shot("webui-flow");
      await page.fill("#filter-name", "");
      await page.uncheck("#flow-pause");
    });
  }
  await step("the metrics panel shows the event queue sizes and the registrar's commit latency as numbers", async () => {
    const keys = ["master/event_queue_messages", "master/event_queue_dispatches", "master/event_queue_http_requests",
      "registrar/state_store_ms", "registrar/state_store_ms/p50", "registrar/state_store_ms/p99",
      "registrar/state_store_ms/count", "registrar/queued_operations", "registrar/registry_size_bytes"];
    await page.waitForFunction(ks => ks.every(k => {
      const dd = document.querySelector(`#metrics div[title="${k}"] dd`);
      return dd && dd.textContent.trim() !== "" && Number.isFinite(Number(dd.textContent));
    }), keys, { timeout: WAIT });
    await page.locator("#metrics").scrollIntoViewIfNeeded();
    await shot("webui-metrics");
  });
  await step("after kill -9 of the task's agent, mesos-local restarts it: the diagram shows its re-registration and the task is still TASK_RUNNING", async () => {
    // The agent that runs the task, and its OS pid from mesos-local's summary.
    const [agentId, agentAddress] = await page.evaluate(() => {
      const task = allTasks().find(t => t.state === "TASK_RUNNING");
      const agent = UI.state.slaves.find(a => a.id === task.slave_id);
      return [agent.id, agent.pid.slice(agent.pid.indexOf("@") + 1)];
    });
    const osPid = JSON.parse(env.WEBUI_AGENT_OS_PIDS)[agentAddress];
    if (!osPid) throw new Error(`no OS pid for the agent at ${agentAddress}`);
    process.kill(Number(osPid), "SIGKILL");
    // ReregisterSlaveMessage (agent -> master) and SlaveReregisteredMessage (master -> agent).
    const names = ["mesos.internal.ReregisterSlaveMessage", "mesos.internal.SlaveReregisteredMessage"];
    await page.fill("#filter-name", "reregister");
    await page.waitForFunction(ns => ns.every(n => [...document.querySelectorAll("#flow text")].some(t => t.textContent === n)),
      names, { timeout: WAIT });
    // After the re-registration: the same agent active again, the task still running on it.
    await page.waitForFunction(id => {
      const agent = UI.state.slaves.find(a => a.id === id);
      return agent && agent.active && allTasks().some(t => t.slave_id === id && t.state === "TASK_RUNNING")
        && [...document.querySelectorAll("#tasks tr")].some(r => r.textContent.includes(id) && r.textContent.includes("TASK_RUNNING"));
    }, agentId, { timeout: WAIT });
    await page.check("#flow-pause");
    await page.click(`#flow g.msg[data-name="${names[0]}"] text.msg-name`);
    await page.waitForFunction(() => document.getElementById("message-body").textContent.includes("executor_infos")
      || document.getElementById("message-body").textContent.includes("tasks"), null, { timeout: WAIT });
    await page.locator("#flow-panel").scrollIntoViewIfNeeded();
    await shot("webui-agent-restart");
    await page.fill("#filter-name", "");
    await page.uncheck("#flow-pause");
  });
  await step(`after kill -9 of the leader ${LEADER}, the page (reloaded at ${FOLLOWER}) shows it down and a new leader`, async () => {
    process.kill(Number(env.WEBUI_LEADER_OS_PID), "SIGKILL");
    await page.reload();
    await page.waitForFunction(old => {
      const rows = [...document.querySelectorAll("#masters tr")];
      return rows.some(r => r.dataset.address === old && r.dataset.status === "down")
        && rows.some(r => r.dataset.status === "leader" && r.dataset.address !== old);
    }, LEADER, { timeout: WAIT });
    await shot("webui-failover");
  });
} catch (e) {
  console.log("page text at the failure:\n" + (await page.innerText("body").catch(() => "(none)")).slice(0, 4000));
} finally {
  if (scheduler) scheduler.kill("SIGKILL");
  await browser.close();
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
