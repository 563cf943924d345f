"""An executor written with pymesos, a third-party pure-Python Mesos library that speaks
the v1 executor HTTP API (`POST /api/v1/executor` on the agent), run unmodified by our
agent in the whole-cluster tests.

The agent starts it with Mesos's environment (MESOS_AGENT_ENDPOINT, MESOS_FRAMEWORK_ID,
MESOS_EXECUTOR_ID, ...), which is all pymesos needs to SUBSCRIBE. For every task it is
given (LAUNCH) it sends TASK_RUNNING, then TASK_FINISHED with the message
"finished by the pymesos executor". It exits when the agent sends SHUTDOWN.
"""
import logging
import threading

from addict import Dict
from pymesos import Executor, MesosExecutorDriver

MESSAGE = "finished by the pymesos executor"


class Finisher(Executor):
    def launchTask(self, driver, task):
        # Updates are sent from another thread: pymesos calls us from its event loop.
        def run():
            for state, message in (("TASK_RUNNING", "running"), ("TASK_FINISHED", MESSAGE)):
                update = Dict()
                update.task_id.value = task.task_id.value
                update.state = state
                update.message = message
                driver.sendStatusUpdate(update)

        threading.Thread(target=run, daemon=True).start()


def main():
    logging.basicConfig(level=logging.INFO)
    MesosExecutorDriver(Finisher(), use_addict=True).run()


if __name__ == "__main__":
    main()
