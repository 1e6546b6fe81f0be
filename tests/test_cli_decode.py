"""`meshlens decode HEX`."""

from __future__ import annotations

import json

import pytest

from meshlens.cli import main

BOT_MESSAGE = "15833FA002860CCAE0EED9CA78B9AB0775D477C1F6490A398BF4EDC75240"


def test_decode_prints_the_packet_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["decode", "0D04B891", "647EBB40BA70"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["payload"] == {"type": "ACK", "extraHash": "70ba40bb", "ackLen": 4}
    assert out["raw"] == "0D04B891647EBB40BA70"


@pytest.mark.parametrize(
    "options",
    [
        ["--channel", "#bot"],
        ["--channel", "bot"],
        ["--key", "#bot=eb50a1bcb3e4e5d7bf69a57c9dada211"],
    ],
)
def test_decode_uses_the_given_channel_keys(
    options: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["decode", BOT_MESSAGE, *options]) == 0
    payload = json.loads(capsys.readouterr().out)["payload"]
    assert (payload["channel"], payload["text"]) == ("#bot", "Roy B V4: P")


def test_decode_without_the_key_reports_decryption_failed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["decode", BOT_MESSAGE]) == 0
    assert json.loads(capsys.readouterr().out)["payload"]["decryptionStatus"] == "decryption_failed"


def test_bad_input_exits_1_with_the_reason_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["decode", "120AAAAAAAAAAA"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "path exceeds buffer" in captured.err


def test_bad_key_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["decode", BOT_MESSAGE, "--key", "x=nothex"]) == 2
    assert "'x'" in capsys.readouterr().err
