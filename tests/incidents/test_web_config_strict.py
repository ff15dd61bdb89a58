"""A web config that promtool refuses is refused by aiwatch too, never served half-applied."""

import shutil
import subprocess
from pathlib import Path

import bcrypt
import pytest

from aiwatch.app.errors import StartupError
from aiwatch.web.tls import ssl_context_factory

from .test_auth import make_cert

PROMTOOL = shutil.which("promtool")
HASH = bcrypt.hashpw(b"pw", bcrypt.gensalt(rounds=4)).decode()

# Each names files made by the test: server.crt / server.key (also used as the client CA).
CASES = [
    pytest.param(
        "tls_server_config:\n  client_ca_file: server.crt\n"
        "  client_auth_type: RequireAndVerifyClientCert\n",
        "tls_server_config.cert_file is missing",
        id="client-certs-without-a-server-cert",
    ),
    pytest.param(
        "tls_server_config:\n  client_ca_file: server.crt\n",
        "client_ca_file is set but no client_auth_type",
        id="client-ca-alone",
    ),
    pytest.param(
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
        "  client_ca_file: server.crt\n",
        "client_ca_file is set but no client_auth_type",
        id="client-ca-without-client-auth",
    ),
    pytest.param(
        f"basic_auth_users:\n  alice: {HASH}\n  alice: {HASH}\n",
        "line 3: basic_auth_users.alice: duplicate key 'alice'",
        id="user-written-twice",
    ),
]


@pytest.mark.parametrize(("content", "needle"), CASES)
def test_web_config_promtool_refuses_is_a_startup_error(
    tmp_path: Path, content: str, needle: str
) -> None:
    """aiwatch refuses it naming the key (it served plain HTTP or ignored the CA before)."""
    make_cert(tmp_path)
    path = tmp_path / "web.yml"
    path.write_text(content)
    with pytest.raises(StartupError) as caught:
        ssl_context_factory(str(path))()
    assert needle in str(caught.value)
    if PROMTOOL is not None:
        done = subprocess.run(
            [PROMTOOL, "check", "web-config", str(path)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode != 0, done.stdout + done.stderr
