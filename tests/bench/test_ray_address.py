"""An unreachable Ray address is refused at once (Ray itself retries it for minutes)."""

import socket

import pytest

from noisylabels.bench.ray_backend import check_reachable
from noisylabels.errors import UsageError


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the socket is


@pytest.mark.parametrize("form", ["127.0.0.1:{}", "ray://127.0.0.1:{}"])
def test_unreachable_address_is_a_one_line_error(form):
    address = form.format(_closed_port())
    with pytest.raises(UsageError, match="nothing answers at 127.0.0.1:"):
        check_reachable(address, timeout=2)


def test_listening_address_and_auto_pass():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        check_reachable(f"127.0.0.1:{s.getsockname()[1]}", timeout=2)
    check_reachable("auto")
