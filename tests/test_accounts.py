"""Several accounts per provider, against the simulator over real HTTP and both store backends.

Two Sent.dm child profiles under one organization key and two Sendo keys: each message is asked
of the account that owns it and recorded with it; every account has its own budget, loop and lease.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

import pytest

from tests.test_poller import FAST, live
from tui.config import Secret, Settings
from tui.config_accounts import Account, AccountEntry
from tui.errors import AuthError
from tui.ids import MessageRef
from tui.model import Provider
from tui.polling.election import account_key, leases_for
from tui.polling.poller import Poller
from tui.providers.budget import HealthState
from tui.providers.lookup import Providers
from tui.simulator.accounts import (
    ALLOWED_PROFILE,
    SECOND_PROFILE,
    SENDO_ACCOUNT_2,
    SENDO_KEY_2,
    SENDO_MAIN,
)
from tui.store import ListFilter, SQLiteStore

BOUND = 30.0  # seconds any condition may take on a busy machine

RETAIL = Account(Provider.SENTDM, "retail")
SUPPORT = Account(Provider.SENTDM, "support")
OPS2 = Account(Provider.SENDO, "ops2")
SENDO_DEFAULT = Account(Provider.SENDO)


def with_accounts(settings: Settings) -> Settings:
    """The organization key acting for its two child profiles, and a second Sendo key."""
    settings = settings.with_provider(
        Provider.SENTDM,
        accounts=(
            AccountEntry("retail", Secret(""), ALLOWED_PROFILE),
            AccountEntry("support", Secret(""), SECOND_PROFILE),
        ),
    )
    return settings.with_provider(
        Provider.SENDO, accounts=(AccountEntry("ops2", Secret(SENDO_KEY_2), "", "file"),)
    )


async def wait_for(condition, what: str, bound: float = BOUND) -> None:
    deadline = time.monotonic() + bound
    while not condition():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.02)


async def run_poller(store, settings, done, what: str, **options) -> Poller:
    providers = Providers(settings)
    poller = Poller(store, providers, FAST, **options)
    task = asyncio.ensure_future(poller.run())
    try:
        await wait_for(lambda: done(poller), what)
    finally:
        poller.stop()
        await task
        await providers.aclose()
    return poller


async def test_each_message_is_asked_of_its_own_account_and_recorded(
    open_store, settings, world, sim
) -> None:
    live(world)
    settings = with_accounts(settings)
    owned = {
        "default": world.add_message(Provider.SENTDM, [(0, "QUEUED")], created=-1),
        "support": world.add_message(
            Provider.SENTDM, [(0, "QUEUED")], created=-1, account=SECOND_PROFILE
        ),
        "ops2": world.add_message(
            Provider.SENDO, [(0, "CREATED")], created=-1, account=SENDO_ACCOUNT_2
        ),
    }
    sendo_main = world.add_message(Provider.SENDO, [(0, "CREATED")], created=-1)
    store = open_store()
    refs = [MessageRef(m.id, m.provider) for m in [*owned.values(), sendo_main]]
    store.track(refs)
    assert all(store.account_of(r.id) is None for r in refs)  # nobody knows yet

    def recorded(_: Poller) -> bool:
        return all(store.account_of(m.id) == name for name, m in owned.items()) and (
            store.account_of(sendo_main.id) == "default"
        )

    await run_poller(store, settings, recorded, "each message recorded with its account")
    # from now on each is asked only of its owner: with the owner's key, profile and budget
    providers = Providers(settings)
    poller = Poller(store, providers, FAST)
    store.make_all_due(time.time())
    task = asyncio.ensure_future(poller.run())
    try:
        await wait_for(
            lambda: poller.stats.get(SUPPORT) is not None and poller.stats[SUPPORT].answers >= 1,
            "the support profile's loop answered its message",
        )
        await wait_for(
            lambda: poller.stats.get(OPS2) is not None and poller.stats[OPS2].answers >= 1,
            "the second Sendo key's loop answered its message",
        )
    finally:
        poller.stop()
        await task
        await providers.aclose()
    assert providers.accounts[RETAIL].budget.stats.requests == 0  # it owns nothing here
    assert store.page(ListFilter(account="support"), 0, 10)[0].id == owned["support"].id
    assert {r.id for r in store.page(ListFilter(account="ops2"), 0, 10)} == {owned["ops2"].id}


async def test_one_accounts_429_does_not_slow_the_other(settings, world, sim, tmp_path) -> None:
    """Sendo's default key is out of requests for a minute; the second key's messages are
    answered at once (each account has its own bucket at the provider and its own budget here)."""
    live(world)
    settings = with_accounts(settings)
    sim.set_rate_limit(Provider.SENDO, per_minute=1, burst=2)
    for _ in range(2):
        sim.limiter(SENDO_MAIN).take()  # the default account has nothing left for a minute
    main = [world.add_message(Provider.SENDO, [(0, "CREATED")], created=-1) for _ in range(2)]
    second = [
        world.add_message(Provider.SENDO, [(0, "CREATED")], created=-1, account=SENDO_ACCOUNT_2)
        for _ in range(2)
    ]
    store = SQLiteStore(tmp_path / "h.sqlite3")
    store.track([MessageRef(m.id, Provider.SENDO) for m in [*main, *second]])
    store.set_accounts([(m.id, "default") for m in main] + [(m.id, "ops2") for m in second])
    providers = Providers(settings)
    poller = Poller(store, providers, FAST)
    started = time.monotonic()
    task = asyncio.ensure_future(poller.run())
    try:
        await wait_for(
            lambda: all(store.row(m.id).last_polled for m in second),
            "the second key's messages were answered",
        )
        took = time.monotonic() - started
        await wait_for(
            lambda: (
                providers.accounts[SENDO_DEFAULT].budget.health.state is HealthState.RATE_LIMITED
            ),
            "the default key shows rate-limited",
        )
    finally:
        poller.stop()
        await task
        await providers.aclose()
    assert took < 20.0  # well inside the default key's minute of 429s
    assert all(store.row(m.id).last_polled is None for m in main)
    assert providers.accounts[OPS2].budget.health.state is HealthState.OK
    assert store.account_of(second[0].id) == "ops2"


async def test_two_instances_each_hold_a_different_accounts_lease(
    open_store, settings, world, sim
) -> None:
    """One machine polls Sendo's default key, another the second key, on one history."""
    live(world)
    both = with_accounts(settings)
    only_main = both.with_provider(Provider.SENDO, accounts=())
    only_second = both.with_provider(Provider.SENDO, api_key=Secret(""))
    only_main = only_main.with_provider(Provider.SENTDM, api_key=Secret(""), accounts=())
    only_second = only_second.with_provider(Provider.SENTDM, api_key=Secret(""), accounts=())
    assert list(only_main.accounts()) == [SENDO_DEFAULT]
    assert list(only_second.accounts()) == [OPS2]
    main = [world.add_message(Provider.SENDO, [(0, "CREATED")], created=-1) for _ in range(3)]
    second = [
        world.add_message(Provider.SENDO, [(0, "CREATED")], created=-1, account=SENDO_ACCOUNT_2)
        for _ in range(3)
    ]
    first_store, second_store = open_store(), open_store()
    first_store.track([MessageRef(m.id, Provider.SENDO) for m in [*main, *second]])
    first_store.set_accounts([(m.id, "default") for m in main] + [(m.id, "ops2") for m in second])
    instances = []
    for config, store in ((only_main, first_store), (only_second, second_store)):
        providers = Providers(config)
        leases = leases_for(config, store, providers.accounts)
        poller = Poller(store, providers, FAST, leases=leases)
        instances.append((poller, providers, asyncio.ensure_future(poller.run())))
    (a, a_providers, _), (b, b_providers, _) = instances
    try:
        await wait_for(
            lambda: (
                a.lease_state.get(SENDO_DEFAULT) == "polling here"
                and b.lease_state.get(OPS2) == "polling here"
            ),
            f"each instance holds its account's lease: {a.lease_state} {b.lease_state}",
        )
        await wait_for(
            lambda: all(first_store.row(m.id).last_polled for m in [*main, *second]),
            "every message answered",
        )
    finally:
        for poller, providers, task in instances:
            poller.stop()
            await task
            await providers.aclose()
    assert a.stats[SENDO_DEFAULT].answers >= 3 and b.stats[OPS2].answers >= 3
    assert a_providers.accounts[SENDO_DEFAULT].budget.stats.requests >= 3
    # each answered only its own account's messages: nothing was asked of the wrong key
    assert a.stats[SENDO_DEFAULT].errors == 0 and b.stats[OPS2].errors == 0
    assert account_key(both, SENDO_DEFAULT) != account_key(both, OPS2)
    assert SENDO_KEY_2 not in account_key(both, OPS2)


def test_lease_names_differ_per_profile_and_hide_the_key(settings) -> None:
    both = with_accounts(settings)
    names = {account_key(both, a) for a in both.accounts()}
    assert len(names) == len(both.accounts()) == 5
    for name in names:
        for account in both.accounts().values():
            assert account.api_key.reveal() not in name
    # a provider as the owner (callers from before accounts) is its first account
    assert account_key(both, Provider.SENDO) == account_key(both, SENDO_DEFAULT)
    single = replace(both, sendo=replace(both.sendo, accounts=()))
    assert account_key(single, Provider.SENDO) == account_key(both, SENDO_DEFAULT)


def test_account_filter_and_the_default_account_owns_unrecorded_rows(open_store) -> None:
    store = open_store()
    store.track([MessageRef(i, Provider.SENDO) for i in ("m-1", "m-2", "m-3")])
    assert store.set_accounts([("m-1", "ops2"), ("m-2", "default"), ("nope", "x")]) == 2
    assert store.set_accounts([("m-1", "ops2")]) == 0  # unchanged: nothing written
    assert store.count(ListFilter(account="ops2")) == 1
    assert {r.id for r in store.page(ListFilter(account="default"), 0, 10)} == {"m-2", "m-3"}
    assert store.count(ListFilter(account="eu")) == 0
    assert store.row("m-1").account == "ops2" and store.row("m-3").account is None
    assert store.accounts_of(["m-1", "m-3", "absent"]) == {"m-1": "ops2", "m-3": None}


async def test_one_accounts_rejected_key_leaves_the_others_polling(settings, world, sim) -> None:
    """`poll` gives up (exit 4) only when every account's key is refused, not one of them."""
    from tui.commands.poll import loops_problem

    live(world)
    settings = with_accounts(settings)
    settings = settings.with_provider(
        Provider.SENDO, accounts=(AccountEntry("ops2", Secret("not-a-key"), "", "file"),)
    )
    msg = world.add_message(Provider.SENDO, [(0, "CREATED")], created=-1)
    providers = Providers(settings)
    store = SQLiteStore(settings.history_path())
    poller = Poller(store, providers, FAST)  # not run: `/readyz` reads its loops' states
    try:
        located = await providers.locate(MessageRef(msg.id, Provider.SENDO))
        assert located[0] == SENDO_DEFAULT
        with pytest.raises(AuthError) as refused:
            await providers.accounts[OPS2].fetch(msg.id, retries=0)
        assert "403" in str(refused.value) and "not-a-key" not in str(refused.value)
        assert "[[providers.sendo.accounts]] named ops2" in str(refused.value)
        assert providers.accounts[OPS2].budget.health.state is HealthState.AUTH_REJECTED
        assert providers.health(Provider.SENDO).state is HealthState.AUTH_REJECTED  # the worst
        assert not providers.all_rejected() and loops_problem(poller, providers)() is None
        for client in providers.accounts.values():
            client.budget.on_auth_rejected("refused")
        assert providers.all_rejected()
        assert loops_problem(poller, providers)() == "every provider rejected its API key"
    finally:
        await providers.aclose()
        store.close()


async def test_a_campaign_listed_by_one_key_belongs_to_its_account(settings, world, sim) -> None:
    from tui.polling.discovery import CampaignDiscovery
    from tui.polling.policy import PollPolicy

    live(world)
    settings = with_accounts(settings)
    msgs = [
        world.add_message(
            Provider.SENDO,
            [(0, "CREATED")],
            campaign="OPS2CAMP",
            created=-1,
            account=SENDO_ACCOUNT_2,
        )
        for _ in range(3)
    ]
    store = SQLiteStore(settings.history_path())
    providers = Providers(settings)
    try:
        discovery = CampaignDiscovery(providers.accounts[OPS2], store, PollPolicy(), "OPS2CAMP")
        assert (await discovery.run_once()).new == 3
    finally:
        await providers.aclose()
    try:
        assert {store.account_of(m.id) for m in msgs} == {"ops2"}
    finally:
        store.close()
