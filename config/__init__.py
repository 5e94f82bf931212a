"""Configuration: pydantic models, the ONLY place that validates configuration.

``load_settings(path)`` reads a YAML file (or the packaged example when ``path`` is
None), applies ``ACD_*`` environment overrides and returns an immutable ``Settings``;
on failure it raises ``ConfigError`` whose ``lines`` name each problem with its file
line or environment variable.
"""

from config.kpi import KpiSettings, ServiceLevelVariant
from config.loader import ConfigError, load_settings, read_example
from config.models import Settings, env_overrides
from config.routing import (
    DEFAULT_PAUSE_REASONS,
    AgentSettings,
    Media,
    Prompts,
    QueueSettings,
    QueueTier,
    RelaxStep,
    Strategy,
    WhenNoAgents,
    compute_ha1,
)
from config.sections import (
    ApiToken,
    AuthFailureLimit,
    DatabaseSettings,
    FeatureCodes,
    HttpSettings,
    LogFormat,
    LoggingSettings,
    Role,
    SipSettings,
    TrunkSettings,
)
from config.types import HostPort, ListenAddress, Transport

__all__ = [
    "DEFAULT_PAUSE_REASONS",
    "AgentSettings",
    "ApiToken",
    "AuthFailureLimit",
    "ConfigError",
    "DatabaseSettings",
    "FeatureCodes",
    "HostPort",
    "HttpSettings",
    "KpiSettings",
    "ListenAddress",
    "LogFormat",
    "LoggingSettings",
    "Media",
    "Prompts",
    "QueueSettings",
    "QueueTier",
    "RelaxStep",
    "Role",
    "ServiceLevelVariant",
    "Settings",
    "SipSettings",
    "Strategy",
    "Transport",
    "TrunkSettings",
    "WhenNoAgents",
    "compute_ha1",
    "env_overrides",
    "load_settings",
    "read_example",
]
