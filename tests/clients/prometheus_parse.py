"""Parses Prometheus text exposition from stdin with the reference Python client's
parser (prometheus_client.parser) and prints the families as JSON:
{"<family>": {"type": ..., "help": ..., "samples": [[name, "value"], ...]}}.
A parse error exits non-zero with the parser's message. Used by the master's and
agent's /metrics tests."""
import json
import sys

from prometheus_client.parser import text_string_to_metric_families

families = {}
for family in text_string_to_metric_families(sys.stdin.read()):
    families[family.name] = {
        "type": family.type,
        "help": family.documentation,
        # Values as text: NaN and infinities are not JSON.
        "samples": [[s.name, repr(s.value)] for s in family.samples],
    }
print(json.dumps(families))
