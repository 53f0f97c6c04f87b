"""Getting IDs in: plain lines, CSV, Sent.dm send JSON; bad lines reported and skipped, none lost."""

from __future__ import annotations

import json

from tui.importers import read_ids
from tui.model import Provider

A = "8ba7b830-9dad-11d1-80b4-00c04fd430c8"
B = "f7d258bd-f697-4840-b8a6-165707e12345"
C = "00000000-0000-4000-8000-000000000003"


def test_plain_lines_with_comments_prefixes_and_bad_lines() -> None:
    text = f"# campaign ids\n\n{A}\nsendo:{B}   # trailing comment\nnot-an-id\nfax:{C}\n{A.upper()}\n  {C}  \n"
    result = read_ids(text)
    assert result.format == "text"
    assert [(r.id, r.provider) for r in result.refs] == [(A, None), (B, Provider.SENDO), (C, None)]
    assert [p.where for p in result.problems] == ["line 5", "line 6"]
    assert "not a message ID" in result.problems[0].reason and "prefix" in result.problems[1].reason
    assert result.duplicates == 1


def test_default_provider_does_not_override_a_prefix() -> None:
    result = read_ids(f"{A}\nsendo:{B}\n", Provider.SENTDM)
    assert [r.provider for r in result.refs] == [Provider.SENTDM, Provider.SENDO]


def test_csv_with_id_and_provider_columns() -> None:
    text = f"name,id,provider\nann,{A},sentdm\nbob,{B},Sendo\ncid,{C},twilio\ndan,garbage,sendo\neve\n,,\nfay,{C},\n"
    result = read_ids(text)
    assert result.format == "csv"
    assert [(r.id, r.provider) for r in result.refs] == [
        (A, Provider.SENTDM),
        (B, Provider.SENDO),
        (C, None),
    ]
    assert [p.where for p in result.problems] == ["line 4", "line 5", "line 6"]
    assert "twilio" in result.problems[0].reason


def test_sentdm_send_response_json() -> None:
    response = {
        "success": True,
        "data": {
            "messages": [
                {
                    "message_id": A,
                    "recipient": "+14155551234",
                    "channel": "sms",
                    "status": "QUEUED",
                },
                {"message_id": C, "recipient": "+14155551234", "channel": "whatsapp"},
                {"message_id": 42},
                {"message_id": "nope"},
            ]
        },
        "error": None,
        "meta": {"request_id": "req_1"},
    }
    result = read_ids(json.dumps(response, indent=2))
    assert result.format == "json"
    assert [(r.id, r.provider) for r in result.refs] == [(A, Provider.SENTDM), (C, Provider.SENTDM)]
    assert [p.where for p in result.problems] == [
        "$.data.messages[2].message_id",
        "$.data.messages[3].message_id",
    ]


def test_json_array_of_ids_and_broken_json() -> None:
    assert [r.id for r in read_ids(json.dumps([A, f"sendo:{B}"])).refs] == [A, B]
    broken = read_ids('{"data": [')
    assert broken.refs == [] and "not valid JSON" in broken.problems[0].reason
    empty = read_ids('{"data": {"nothing": 1}}')
    assert empty.refs == [] and "no message IDs" in empty.problems[0].reason


def test_bom_and_windows_line_endings() -> None:
    result = read_ids(f"\ufeff{A}\r\n{B}\r\n")
    assert [r.id for r in result.refs] == [A, B] and not result.problems


def test_large_import_keeps_every_valid_line() -> None:
    ids = [f"00000000-0000-4000-8000-{i:012d}" for i in range(20000)]
    lines = ids[:10000] + ["oops"] + ids[10000:]
    result = read_ids("\n".join(lines))
    assert len(result.refs) == 20000 and [p.where for p in result.problems] == ["line 10001"]


def test_sentdm_send_response_current_and_older_shapes() -> None:
    """Today's 202 answer: one ID per (recipient, channel) in data.recipients; the older example too."""
    current = {
        "success": True,
        "error": None,
        "meta": {"request_id": "req_1"},
        "data": {
            "status": "QUEUED",
            "template_id": None,
            "template_name": "Order Shipped",
            "recipients": [
                {"message_id": A, "to": "+14155550100", "channel": "sms", "body": "hi"},
                {"message_id": B, "to": "+14155550100", "channel": "whatsapp", "body": "hi"},
                {"message_id": C, "to": "+14155550101", "channel": "sms", "body": "hi"},
            ],
        },
    }
    result = read_ids(json.dumps(current))
    assert result.format == "json" and [r.id for r in result.refs] == [A, B, C]
    assert all(r.provider is Provider.SENTDM for r in result.refs) and not result.problems
    older = {
        "data": {
            "status": "accepted",
            "body": "hi",
            "recipients": [{"message_id": A, "to": "+14155550100"}],
        }
    }
    assert [r.id for r in read_ids(json.dumps(older)).refs] == [A]
