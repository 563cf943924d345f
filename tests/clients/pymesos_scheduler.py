"""A scheduler written with pymesos, a third-party pure-Python Mesos library that speaks
the v1 scheduler HTTP API, run unmodified against our master by the whole-cluster tests.

Usage: pymesos_scheduler.py [--executor SCRIPT] [--principal NAME] [--wait SECONDS]
                            [--checkpoint] MASTER_HOST:PORT COMMAND [INSTANCES]

Launches INSTANCES command tasks (default 1) and exits 0 once all are TASK_FINISHED,
1 if any ends in another terminal state, 2 if nothing finishes within --wait seconds
(default 60), 3 if the master sends an ERROR event (refused or torn down).
Prints every status update as `update <task id> <state> <message>` and an error as
`error <message>`.

With `--principal NAME`, FrameworkInfo.principal is NAME (no secret: this is what the
ACLs see when HTTP authentication is off).

With `--checkpoint`, FrameworkInfo.checkpoint is true: agents checkpoint the framework's
tasks, so they survive an agent restart (Mesos recovers only checkpointing frameworks).

With `--executor SCRIPT`, each task runs under a custom executor instead
(`ExecutorInfo.command` = this Python running SCRIPT, e.g. pymesos_executor.py) and
COMMAND is only the task's name.
"""
import logging
import os
import shlex
import sys
import threading
import uuid

from addict import Dict
from pymesos import MesosSchedulerDriver, Scheduler

TERMINAL = {"TASK_FINISHED", "TASK_FAILED", "TASK_KILLED", "TASK_LOST", "TASK_ERROR",
            "TASK_DROPPED", "TASK_GONE"}


class Hello(Scheduler):
    def __init__(self, command, instances, executor=None):
        self.command = command
        self.executor = executor
        self.pending = instances
        self.finished = 0
        self.instances = instances
        self.result = None
        self.done = threading.Event()

    def resourceOffers(self, driver, offers):
        for offer in offers:
            cpus = sum(r.scalar.value for r in offer.resources if r.name == "cpus")
            mem = sum(r.scalar.value for r in offer.resources if r.name == "mem")
            tasks = []
            # A custom executor takes 0.1 cpus and 32 MB of its own per task.
            need_cpus, need_mem = (0.2, 64) if self.executor else (0.1, 32)
            while self.pending > 0 and cpus >= need_cpus and mem >= need_mem:
                task = Dict()
                task.task_id.value = "pymesos-" + str(uuid.uuid4())
                task.agent_id.value = offer.agent_id.value
                task.name = "hello"
                if self.executor:
                    task.executor.executor_id.value = "pymesos-executor-" + task.task_id.value
                    task.executor.framework_id.value = offer.framework_id.value
                    task.executor.command.value = " ".join(
                        shlex.quote(part) for part in (sys.executable, os.path.abspath(self.executor)))
                    task.executor.resources = [
                        dict(name="cpus", type="SCALAR", scalar={"value": 0.1}),
                        dict(name="mem", type="SCALAR", scalar={"value": 32}),
                    ]
                else:
                    task.command.value = self.command
                task.resources = [
                    dict(name="cpus", type="SCALAR", scalar={"value": 0.1}),
                    dict(name="mem", type="SCALAR", scalar={"value": 32}),
                ]
                tasks.append(task)
                self.pending -= 1
                cpus -= need_cpus
                mem -= need_mem
            if tasks:
                driver.launchTasks(offer.id, tasks)
            else:
                driver.declineOffer(offer.id, Dict(refuse_seconds=60))

    def error(self, driver, message):
        print("error", message, flush=True)
        self.result = 3
        self.done.set()

    def statusUpdate(self, driver, update):
        state = update.state
        print("update", update.task_id.value, state, update.get("message", ""), flush=True)
        if state == "TASK_FINISHED":
            self.finished += 1
            if self.finished == self.instances:
                self.result = 0
                self.done.set()
        elif state in TERMINAL:
            self.result = 1
            self.done.set()


def main():
    logging.basicConfig(level=logging.INFO)
    args = sys.argv[1:]
    executor = None
    principal = secret = None
    wait = 60
    checkpoint = False
    # Leading options: --executor SCRIPT, --principal P --secret S (pymesos's own
    # arguments, sent as HTTP Basic credentials), --wait SECONDS (give up after).
    while args and args[0] in ("--executor", "--principal", "--secret", "--wait", "--checkpoint"):
        if args[0] == "--checkpoint":
            checkpoint, args = True, args[1:]
            continue
        option, value, args = args[0], args[1], args[2:]
        if option == "--executor":
            executor = value
        elif option == "--principal":
            principal = value
        elif option == "--secret":
            secret = value
        else:
            wait = float(value)
    master, command = args[0], args[1]
    instances = int(args[2]) if len(args) > 2 else 1
    framework = Dict(user="root", name="pymesos-hello", hostname="localhost")
    if principal is not None:
        framework.principal = principal
    if checkpoint:
        framework.checkpoint = True
    scheduler = Hello(command, instances, executor)
    driver = MesosSchedulerDriver(
        scheduler, framework, master, use_addict=True, principal=principal, secret=secret
    )
    driver.start()
    finished = scheduler.done.wait(wait)
    driver.stop()
    driver.join()
    sys.exit(scheduler.result if finished else 2)


if __name__ == "__main__":
    main()
