"""``--web.config.file`` (exporter-toolkit format): parsing, validation and the server's TLS."""

import os
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiwatch.app.errors import StartupError
from aiwatch.config.yamlpos import YamlProblem, format_path, load_with_positions

TLS_VERSIONS = {
    "TLS10": ssl.TLSVersion.TLSv1,
    "TLS11": ssl.TLSVersion.TLSv1_1,
    "TLS12": ssl.TLSVersion.TLSv1_2,
    "TLS13": ssl.TLSVersion.TLSv1_3,
}
CLIENT_AUTH = {
    "": ssl.CERT_NONE,
    "NoClientCert": ssl.CERT_NONE,
    "VerifyClientCertIfGiven": ssl.CERT_OPTIONAL,
    "RequireAndVerifyClientCert": ssl.CERT_REQUIRED,
}
# Go's crypto/tls can ask for a certificate without verifying it; Python's ssl cannot.
UNSUPPORTED_CLIENT_AUTH = ("RequestClientCert", "RequireAnyClientCert")
_TLS_KEYS = {
    "cert_file",
    "key_file",
    "client_auth_type",
    "client_ca_file",
    "min_version",
    "max_version",
    "prefer_server_cipher_suites",
    "cipher_suites",
    "curve_preferences",
    "client_allowed_sans",
}
_TOP_KEYS = {"tls_server_config", "http_server_config", "basic_auth_users"}
_BCRYPT_PREFIXES = ("$2a$", "$2b$", "$2y$")


class WebConfigError(Exception):
    """The web config file is unreadable or invalid; the message names the file and key."""


@dataclass(frozen=True)
class TlsConfig:
    """The server side of TLS; paths are resolved against the web config file's folder."""

    cert_file: str
    key_file: str
    client_auth_type: str = "NoClientCert"
    client_ca_file: str | None = None
    min_version: str = "TLS12"
    max_version: str | None = None
    prefer_server_cipher_suites: bool = True


@dataclass(frozen=True)
class WebConfig:
    """What ``--web.config.file`` says: TLS (or None) and basic-auth users with bcrypt hashes."""

    path: str | None = None
    tls: TlsConfig | None = None
    users: Mapping[str, str] = field(default_factory=dict)


def bcrypt_cost(hashed: str) -> int | None:
    """The cost of a bcrypt hash, None when the text is not one."""
    if len(hashed) != 60 or not hashed.startswith(_BCRYPT_PREFIXES) or hashed[6] != "$":
        return None
    cost = hashed[4:6]
    if not cost.isdigit() or not 4 <= int(cost) <= 31:
        return None
    return int(cost)


def _fail(path: str, message: str) -> WebConfigError:
    return WebConfigError(f"web config {path}: {message}")


def _string(path: str, section: Mapping[str, Any], key: str, where: str) -> str | None:
    value = section.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _fail(path, f"{where}.{key} must be a string")
    return value


def _resolve(path: str, file: str | None) -> str | None:
    if not file:
        return None
    return file if os.path.isabs(file) else os.path.join(os.path.dirname(path), file)


def _tls(path: str, raw: Any) -> TlsConfig | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise _fail(path, "tls_server_config must be a mapping")
    unknown = set(raw) - _TLS_KEYS
    if unknown:
        raise _fail(path, f"tls_server_config: unknown field(s) {', '.join(sorted(unknown))}")
    where = "tls_server_config"
    cert = _resolve(path, _string(path, raw, "cert_file", where))
    key = _resolve(path, _string(path, raw, "key_file", where))
    for unsupported in ("cipher_suites", "curve_preferences", "client_allowed_sans"):
        if raw.get(unsupported):
            raise _fail(path, f"{where}.{unsupported} is not supported by aiwatch")
    auth = _string(path, raw, "client_auth_type", where) or "NoClientCert"
    if auth in UNSUPPORTED_CLIENT_AUTH:
        raise _fail(path, f"{where}.client_auth_type {auth} is not supported by aiwatch")
    if auth not in CLIENT_AUTH:
        raise _fail(path, f"{where}.client_auth_type {auth!r} is not a client auth type")
    ca = _resolve(path, _string(path, raw, "client_ca_file", where))
    if CLIENT_AUTH[auth] != ssl.CERT_NONE and not ca:
        raise _fail(path, f"{where}.client_ca_file is required for client_auth_type {auth}")
    if ca and CLIENT_AUTH[auth] == ssl.CERT_NONE:
        # exporter-toolkit refuses this too: a CA that verifies nothing is a mistake.
        raise _fail(
            path,
            f"{where}.client_ca_file is set but no client_auth_type asks for client "
            "certificates (VerifyClientCertIfGiven or RequireAndVerifyClientCert)",
        )
    versions = {}
    for name in ("min_version", "max_version"):
        value = _string(path, raw, name, where)
        if value is not None and value not in TLS_VERSIONS:
            raise _fail(path, f"{where}.{name} {value!r}: want one of {', '.join(TLS_VERSIONS)}")
        versions[name] = value
    prefer = raw.get("prefer_server_cipher_suites", True)
    if not isinstance(prefer, bool):
        raise _fail(path, f"{where}.prefer_server_cipher_suites must be true or false")
    if not cert and not key and not ca and not raw.get("client_auth_type"):
        return None
    if not cert or not key:
        missing = "cert_file" if not cert else "key_file"
        raise _fail(path, f"{where}.{missing} is missing")
    return TlsConfig(
        cert_file=cert,
        key_file=key,
        client_auth_type=auth,
        client_ca_file=ca,
        min_version=versions["min_version"] or "TLS12",
        max_version=versions["max_version"],
        prefer_server_cipher_suites=prefer,
    )


def _users(path: str, raw: Any) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise _fail(path, "basic_auth_users must be a mapping of user name to bcrypt hash")
    users = {}
    for name, hashed in raw.items():
        if not isinstance(name, str) or not isinstance(hashed, str):
            raise _fail(path, f"basic_auth_users.{name}: user and hash must be strings")
        if ":" in name:
            raise _fail(path, f"basic_auth_users.{name}: a user name cannot contain ':'")
        if bcrypt_cost(hashed) is None:
            raise _fail(path, f"basic_auth_users.{name}: not a bcrypt hash")
        users[name] = hashed
    return users


def parse_web_config(path: str, text: str) -> WebConfig:
    """A web config from its YAML text; ``WebConfigError`` names the file and the key."""
    try:
        # Also refuses a key written twice, as exporter-toolkit's strict YAML parsing does.
        doc, _ = load_with_positions(text)
    except YamlProblem as err:
        where = f"{format_path(err.path)}: " if err.path else ""
        raise _fail(path, f"line {err.line}: {where}{err.message}") from None
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise _fail(path, "must be a YAML mapping")
    unknown = set(doc) - _TOP_KEYS
    if unknown:
        raise _fail(path, f"unknown field(s) {', '.join(sorted(map(str, unknown)))}")
    http = doc.get("http_server_config") or {}
    if not isinstance(http, dict) or set(http) - {"http2"}:
        raise _fail(
            path, "http_server_config supports only http2 (ignored: aiwatch serves HTTP/1.1)"
        )
    return WebConfig(
        path=path,
        tls=_tls(path, doc.get("tls_server_config")),
        users=_users(path, doc.get("basic_auth_users")),
    )


def load_web_config(path: str) -> WebConfig:
    """Read and parse the web config file."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as err:
        raise _fail(path, f"cannot read it: {err}") from None
    return parse_web_config(path, text)


def server_context(config: TlsConfig, *, path: str) -> ssl.SSLContext:
    """The server's TLS context; a bad certificate or key names the file."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = TLS_VERSIONS[config.min_version]
    if config.max_version:
        context.maximum_version = TLS_VERSIONS[config.max_version]
    if config.prefer_server_cipher_suites:
        context.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
    try:
        context.load_cert_chain(config.cert_file, config.key_file)
    except (OSError, ssl.SSLError) as err:
        raise _fail(
            path, f"cannot load cert_file {config.cert_file} / key_file {config.key_file}: {err}"
        ) from None
    context.verify_mode = CLIENT_AUTH[config.client_auth_type]
    if config.client_ca_file:
        try:
            context.load_verify_locations(cafile=config.client_ca_file)
        except (OSError, ssl.SSLError) as err:
            raise _fail(
                path, f"cannot load client_ca_file {config.client_ca_file}: {err}"
            ) from None
    return context


def ssl_context_factory(web_config_file: str | None) -> Callable[[], ssl.SSLContext | None]:
    """A factory for the server's TLS context (None without TLS); it validates the whole file.

    Called at start-up by the daemon: an invalid file stops it with a ``StartupError``.
    """

    def factory() -> ssl.SSLContext | None:
        if not web_config_file:
            return None
        try:
            config = load_web_config(web_config_file)
            if config.tls is None:
                return None
            return server_context(config.tls, path=web_config_file)
        except WebConfigError as err:
            raise StartupError(str(err)) from None

    return factory
