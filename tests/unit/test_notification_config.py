"""Notification settings from the environment: SMTP, webhook, milestone kinds, channel choice."""

import pytest

from activities.channels.log import LogChannel
from activities.channels.smtp import SmtpChannel
from activities.channels.webhook import WebhookChannel
from passerelle.platform.settings import load_settings, milestone_kinds
from passerelle.platform.worker import build_channels


def test_smtp_settings_default_port_follows_security() -> None:
    """starttls → 587, tls → 465, none → 25; an explicit port wins; the password stays out of repr."""
    assert load_settings({"PASSERELLE_SMTP_HOST": "mx"}).smtp.port == 587  # type: ignore[union-attr]
    assert load_settings({"PASSERELLE_SMTP_HOST": "mx", "PASSERELLE_SMTP_TLS": "tls"}).smtp.port == 465  # type: ignore[union-attr]
    smtp = load_settings(
        {"PASSERELLE_SMTP_HOST": "mx", "PASSERELLE_SMTP_PORT": "2525", "PASSERELLE_SMTP_PASSWORD": "hunter2"}
    ).smtp
    assert smtp is not None and smtp.port == 2525 and "hunter2" not in repr(smtp)


def test_bad_notification_settings_are_refused_with_a_clear_message() -> None:
    """A wrong TLS mode, webhook URL or timeout stops the worker at start-up, naming the variable."""
    with pytest.raises(SystemExit, match="PASSERELLE_SMTP_TLS"):
        load_settings({"PASSERELLE_SMTP_HOST": "mx", "PASSERELLE_SMTP_TLS": "ssl3"})
    with pytest.raises(SystemExit, match="PASSERELLE_WEBHOOK_URL"):
        load_settings({"PASSERELLE_WEBHOOK_URL": "ftp://hook"})
    with pytest.raises(SystemExit, match="PASSERELLE_WEBHOOK_TIMEOUT"):
        load_settings({"PASSERELLE_WEBHOOK_URL": "https://hook", "PASSERELLE_WEBHOOK_TIMEOUT": "-1"})


def test_milestone_kinds_parse_all_none_and_lists() -> None:
    """`all`, `none` (the default) or a comma-separated list, case-insensitive."""
    assert milestone_kinds("all") == ("*",)
    assert milestone_kinds("none") == () and milestone_kinds("") == ()
    assert milestone_kinds(" NDA signed , Pilot kick-off,") == ("nda signed", "pilot kick-off")
    assert load_settings({}).notify_milestones == ()


def test_channels_are_built_in_order_and_need_their_settings() -> None:
    """PASSERELLE_CHANNELS picks the channels; smtp and webhook need their host/URL."""
    env = {
        "PASSERELLE_CHANNELS": "smtp, log,webhook,smtp",
        "PASSERELLE_SMTP_HOST": "mx",
        "PASSERELLE_WEBHOOK_URL": "https://hook.example/x",
    }
    kinds = [type(c) for c in build_channels(load_settings(env))]
    assert kinds == [SmtpChannel, LogChannel, WebhookChannel]
    with pytest.raises(SystemExit, match="PASSERELLE_SMTP_HOST"):
        build_channels(load_settings({"PASSERELLE_CHANNELS": "smtp"}))
    with pytest.raises(SystemExit, match="unknown channel"):
        build_channels(load_settings({"PASSERELLE_CHANNELS": "pigeon"}))
