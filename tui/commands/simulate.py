"""`sendwatch simulate`: run the provider simulator on its own, for trying the CLI or scripts."""

from __future__ import annotations

import time
from pathlib import Path

from tui.simulator import SENDO_KEY, SENTDM_KEY
from tui.simulator.demo import start_demo


def run(port: int, seed: int, campaign: int, ids_file: Path | None, rate: float = 200.0) -> int:
    try:
        sim, tracked = start_demo(seed=seed, campaign_size=campaign, port=port, sentdm_per_minute=rate)
    except OSError as exc:
        print(f"sendwatch: cannot listen on 127.0.0.1:{port}: {exc.strerror}")
        return 5
    if ids_file:
        ids_file.write_text("".join(f"{m.provider.value}:{m.id}\n" for m in tracked))
    url = sim.base_url
    print(f"Simulating Sent.dm v3 and Sendo v1 at {url} (seed {seed}); Ctrl+C stops it.\n", flush=True)
    print("Point sendwatch at it (these keys are the simulator's, not secrets):")
    print(f"  export SENT_DM_API_KEY={SENTDM_KEY}")
    print(f"  export SENDO_API_KEY={SENDO_KEY}")
    print(f"  export SENDWATCH_SENTDM_URL={url}")
    print(f"  export SENDWATCH_SENDO_URL={url}\n")
    print("Some message IDs:")
    for msg in tracked[-6:]:
        print(f"  {msg.provider.value}:{msg.id}")
    if ids_file:
        print(f"All {len(tracked)} IDs were written to {ids_file} (for `sendwatch watch`).", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    return 0
