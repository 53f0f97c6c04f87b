"""Regenerate screenshots/*.svg from the demo data: `.venv/bin/python scripts/screenshots.py`.

The app renders them itself (Textual's SVG export) from the deterministic showcase: the demo
simulator frozen at a fixed instant, so the pictures only change when the screens do.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.showcase import build_showcase, failed_message, settle  # noqa: E402

OUT = ROOT / "screenshots"


async def shoot(name: str, size: tuple[int, int], steps=None, title: str = "sendwatch") -> None:
    with tempfile.TemporaryDirectory() as tmp:
        app, sim, tracked = await asyncio.to_thread(build_showcase, Path(tmp))
        try:
            async with app.run_test(size=size, notifications=False) as pilot:
                await settle(pilot)
                if steps:
                    await steps(app, pilot, tracked)
                    await settle(pilot)
                app.title = title
                app.save_screenshot(filename=f"{name}.svg", path=str(OUT))
        finally:
            sim.stop()
            app.store.close()
    print(f"wrote screenshots/{name}.svg")


async def select_failed(app, pilot, tracked) -> None:
    app.dashboard.reveal(failed_message(tracked).id)


async def open_help(app, pilot, tracked) -> None:
    await pilot.press("question_mark")


async def filter_failed(app, pilot, tracked) -> None:
    await pilot.press("slash")
    app.query_one("#find").value = "status:failed"
    await pilot.press("enter")


async def open_summary(app, pilot, tracked) -> None:
    await pilot.press("s")  # under 110 columns the summary fills the screen


async def main() -> None:
    OUT.mkdir(exist_ok=True)
    await shoot("main", (140, 42))
    await shoot("summary-80x24", (80, 24), open_summary)
    await shoot("failed-detail", (140, 42), select_failed)
    await shoot("failures-filtered", (140, 42), filter_failed)
    await shoot("help", (100, 32), open_help)
    await shoot("small-80x24", (80, 24), select_failed)


if __name__ == "__main__":
    asyncio.run(main())
