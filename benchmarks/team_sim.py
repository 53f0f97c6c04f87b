"""The provider simulator in a process of its own, for bench_team.py.

`python -m benchmarks.team_sim SEED COUNT PER_MINUTE BURST IDS_FILE`: a world with COUNT Sent.dm
messages sent at t = 0 (now), served on 127.0.0.1 at a Sent.dm budget of PER_MINUTE (burst BURST).
Prints `READY <port>` once serving, then answers commands on stdin, one JSON line each:
  * `stats`: {"n": requests so far, "first": wall time of the first request or null}
  * `stop`:  every request as [wall time, HTTP status, message id], and the ground truth
             (every status change that happened so far, as [id, wall time, STATUS]); then exits.
"""

from __future__ import annotations

import json
import sys
import time

from tui.model import Provider
from tui.simulator import SimConfig, Simulator, SimWorld


def main() -> None:
    seed, count, per_minute, burst, ids_file = (
        int(sys.argv[1]),
        int(sys.argv[2]),
        float(sys.argv[3]),
        int(sys.argv[4]),
        sys.argv[5],
    )
    world = SimWorld(seed)
    msgs = [world.add_message(Provider.SENTDM, created=0.0) for _ in range(count)]
    world.epoch = time.time() - world.now()  # world t = 0 is "now": the campaign was just sent
    sim = Simulator(world, SimConfig(sentdm_per_minute=per_minute, sentdm_burst=burst)).start()
    with open(ids_file, "w", encoding="utf-8") as out:
        out.write("".join(f"sentdm:{m.id}\n" for m in msgs))
    print(f"READY {sim.port}", flush=True)
    for line in sys.stdin:
        command = line.strip()
        with sim._lock:
            records = list(sim.records)
        if command == "stats":
            print(
                json.dumps({"n": len(records), "first": records[0].at if records else None}),
                flush=True,
            )
        elif command == "stop":
            truth = [
                (mid, world.wall(t), st)
                for mid, t, st in world.status_changes_between(-1.0, world.now())
            ]
            print(
                json.dumps(
                    {"records": [(r.at, r.status, r.message_id) for r in records], "truth": truth}
                ),
                flush=True,
            )
            break
    sim.stop()


if __name__ == "__main__":
    main()
