"""Channels by type: webhook, email, script and the presets."""

from __future__ import annotations

from agent.hooks.channels.alertmanager import AlertmanagerChannel
from agent.hooks.channels.base import Channel
from agent.hooks.channels.email import EmailChannel
from agent.hooks.channels.jira import JiraChannel
from agent.hooks.channels.robots import DingTalkChannel, WeComChannel
from agent.hooks.channels.script import ScriptChannel
from agent.hooks.channels.servicenow import ServiceNowChannel
from agent.hooks.channels.webhook import WebhookChannel
from agent.hooks.settings import ChannelSettings, HooksConfig

TYPES = {"webhook": WebhookChannel, "email": EmailChannel, "script": ScriptChannel,
         "alertmanager": AlertmanagerChannel, "dingtalk": DingTalkChannel, "wecom": WeComChannel,
         "jira": JiraChannel, "servicenow": ServiceNowChannel}


def build_channel(settings: ChannelSettings, lang: str) -> Channel:
    return TYPES[settings.model.type](settings, lang)  # type: ignore[no-any-return]


def build_channels(config: HooksConfig) -> dict[str, Channel]:
    return {name: build_channel(s, config.lang) for name, s in config.channels.items()}
