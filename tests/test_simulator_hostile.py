"""Hostile messages (issue #15): each GET for one is poison, over real HTTP; nothing else is."""

from __future__ import annotations

import json
import resource
import socket
import time
from datetime import UTC, datetime

import httpx
import pytest

from tui.model import Provider
from tui.simulator import SENDO_KEY, SENTDM_KEY, Simulator, SimWorld
from tui.simulator.hostile import add_hostile
from tui.simulator.poison import OVERFLOW_TIME

SD = {"x-api-key": SENTDM_KEY}
SO = {"authorization": f"Bearer {SENDO_KEY}"}
MB = 1024 * 1024


@pytest.fixture
def http(sim: Simulator):
    with httpx.Client(base_url=sim.base_url, timeout=10.0) as client:
        yield client


def url(msg) -> str:
    return f"/v3/messages/{msg.id}" if msg.provider is Provider.SENTDM else f"/v1/message/{msg.id}"


def headers(msg) -> dict[str, str]:
    return SD if msg.provider is Provider.SENTDM else SO


def normal(world: SimWorld, provider: Provider):
    steps = [(0, "QUEUED"), (1, "DELIVERED")] if provider is Provider.SENTDM else None
    return world.add_message(provider, steps or [(0, "CREATED"), (1, "SENT")], created=-5)


@pytest.mark.parametrize("provider", [Provider.SENTDM, Provider.SENDO])
def test_nested_json_defeats_a_recursive_parser_and_costs_budget(http, world, provider) -> None:
    ok = normal(world, provider)
    bad = add_hostile(world, provider, "nested")
    before = http.get(url(ok), headers=headers(ok))
    r = http.get(url(bad), headers=headers(bad))
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert b"[" * 100_000 in r.content
    with pytest.raises(RecursionError):
        json.loads(r.content)
    remaining = int(r.headers["x-ratelimit-remaining"])
    assert remaining < int(before.headers["x-ratelimit-remaining"])  # it cost a request
    after = http.get(url(ok), headers=headers(ok))
    assert after.status_code == 200 and after.json()  # the next message is answered as usual


def test_fake_gzip_fails_to_decode(http, world) -> None:
    bad = add_hostile(world, Provider.SENTDM, "fake_gzip")
    with pytest.raises(httpx.DecodingError):
        http.get(url(bad), headers=SD)
    with http.stream("GET", url(bad), headers=SD) as r:
        raw = b"".join(r.iter_raw())
    assert r.headers["content-encoding"] == "gzip" and json.loads(raw)["data"]["id"] == bad.id


@pytest.mark.parametrize("provider", [Provider.SENTDM, Provider.SENDO])
def test_overflow_time_in_every_timestamp(http, world, provider) -> None:
    bad = add_hostile(world, provider, "overflow_time")
    r = http.get(url(bad), headers=headers(bad)).json()
    data = r["data"] if provider is Provider.SENTDM else r["message"]
    stamps = (
        [data["created_at"]] + [e["timestamp"] for e in data["events"]]
        if provider is Provider.SENTDM
        else [data["createdAt"], data["sentAt"], data["updatedAt"]]
    )
    assert stamps and set(stamps) == {OVERFLOW_TIME}
    with pytest.raises(OverflowError):
        datetime.fromisoformat(OVERFLOW_TIME).astimezone(UTC)
    if provider is Provider.SENTDM:
        acts = http.get(f"{url(bad)}/activities", headers=SD).json()["data"]["activities"]
        assert {a["timestamp"] for a in acts} == {OVERFLOW_TIME}


@pytest.mark.parametrize("provider", [Provider.SENTDM, Provider.SENDO])
def test_nul_in_the_text_and_wrong_id(http, world, provider) -> None:
    nul = add_hostile(world, provider, "nul")
    got = http.get(url(nul), headers=headers(nul)).json()
    text = (
        got["data"]["message_body"]["content"]
        if provider is Provider.SENTDM
        else got["message"]["body"]
    )
    assert "\x00" in text
    other = normal(world, provider)
    wrong = add_hostile(world, provider, "wrong_id", other_id=other.id)
    got = http.get(url(wrong), headers=headers(wrong)).json()
    assert (got["data"] if provider is Provider.SENTDM else got["message"])["id"] == other.id
    default = add_hostile(world, provider, "wrong_id")  # another message of the provider's
    got = http.get(url(default), headers=headers(default)).json()
    answered = (got["data"] if provider is Provider.SENTDM else got["message"])["id"]
    assert answered != default.id and answered in world.messages


def test_huge_is_streamed_with_a_content_length_never_built_in_memory(http, world, sim) -> None:
    bad = add_hostile(world, Provider.SENTDM, "huge")  # 600 MB by default
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    read = 0
    with http.stream("GET", url(bad), headers=SD) as r:
        assert int(r.headers["content-length"]) > 600 * MB
        first = b""
        for chunk in r.iter_raw():
            first = first or chunk
            read += len(chunk)
            if read > 8 * MB:
                break
    assert first.startswith(b'{"success": true, "data": {"id": "' + bad.id.encode())
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before
    assert grown < 300 * 1024  # far from the 600 MB a body built in memory would take
    ok = normal(world, Provider.SENTDM)
    assert http.get(url(ok), headers=SD).status_code == 200  # the server is not stuck on it
    assert [r.status for r in sim.requests_for(bad.id)] == [200]


@pytest.mark.parametrize("with_length", [True, False])
def test_huge_is_valid_json_of_the_size_asked(http, world, with_length) -> None:
    bad = add_hostile(
        world, Provider.SENDO, "huge", size_mb=1.5, content_length=with_length, campaign="HUGE0001"
    )
    r = http.get(url(bad), headers=SO)
    if with_length:
        assert int(r.headers["content-length"]) == len(r.content)
    else:
        assert r.headers["transfer-encoding"] == "chunked" and "content-length" not in r.headers
    msg = r.json()["message"]
    assert msg["id"] == bad.id and msg["body"] == "x" * int(1.5 * MB)
    listed = http.get("/v1/message/list?campaign=HUGE0001", headers=SO).json()["messages"]
    assert [m["id"] for m in listed] == [bad.id] and len(
        listed[0]["body"]
    ) < 1000  # lists: as usual


def test_trickle_sends_one_byte_at_a_time(world, sim) -> None:
    interval = 0.002
    bad = add_hostile(world, Provider.SENDO, "trickle", interval=interval)
    started = time.monotonic()
    with httpx.Client(base_url=sim.base_url, timeout=5.0) as http:
        with http.stream("GET", url(bad), headers=SO) as r:
            parts = list(r.iter_raw())
    elapsed = time.monotonic() - started
    body = b"".join(parts)
    assert json.loads(body)["message"]["id"] == bad.id
    assert len(parts) > 10  # arrived in many small reads, not at once (however loaded)
    assert elapsed >= (len(body) - 1) * interval


def test_a_trickle_ends_when_the_simulator_stops(world) -> None:
    sim = Simulator(world).start()
    bad = add_hostile(world, Provider.SENTDM, "trickle")  # one byte a second
    sock = socket.create_connection(("127.0.0.1", sim.port), timeout=30)
    try:
        request = f"GET {url(bad)} HTTP/1.1\r\nHost: x\r\nx-api-key: {SENTDM_KEY}\r\n\r\n"
        sock.sendall(request.encode())
        got = b""
        while b"\r\n\r\n" not in got:
            got += sock.recv(4096)
        started = time.monotonic()
        sim.stop()
        while sock.recv(4096):  # the rest of the body never comes: the connection ends
            pass
        assert time.monotonic() - started < 10
    finally:
        sock.close()


def test_hostile_messages_leave_seeded_worlds_unchanged() -> None:
    plain, mixed = SimWorld(seed=5, epoch=0.0), SimWorld(seed=5, epoch=0.0)
    for w in (plain, mixed):
        w.freeze(at=0.0)
    a = [plain.add_message(Provider.SENTDM, created=0.0) for _ in range(3)]
    b = [mixed.add_message(Provider.SENTDM, created=0.0)]
    add_hostile(mixed, Provider.SENTDM, "nested")
    add_hostile(mixed, Provider.SENDO, "huge")
    b += [mixed.add_message(Provider.SENTDM, created=0.0) for _ in range(2)]
    assert [(m.id, m.steps, m.body, m.to) for m in a] == [(m.id, m.steps, m.body, m.to) for m in b]
    with pytest.raises(ValueError, match="unknown hostile kind"):
        add_hostile(plain, Provider.SENTDM, "bogus")
