"""Ports for embedded servers: below the ephemeral range clients take source ports from, never handed out twice."""

from __future__ import annotations

import socket

from infra import ports


def test_a_port_is_below_the_ephemeral_range_and_free():
    low, _ = ports.ephemeral_range()
    port = ports.free_port()
    assert 1024 <= port < low
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))  # nothing listens there


def test_ports_chosen_before_any_is_bound_are_distinct():
    chosen = [ports.free_port() for _ in range(50)]
    assert len(set(chosen)) == len(chosen)


def test_a_listening_port_is_never_chosen(monkeypatch):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        taken = server.getsockname()[1]
        monkeypatch.setattr(ports, "ephemeral_range", lambda: (taken + 1, 60999))
        monkeypatch.setattr(ports, "_SPAN", 1)  # the taken port is the only candidate below the range
        assert ports.free_port() != taken


def test_with_no_room_below_the_range_the_os_picks(monkeypatch):
    monkeypatch.setattr(ports, "ephemeral_range", lambda: (1024, 65535))
    port = ports.free_port()
    assert port >= 1024 and port in ports._handed_out


def test_the_range_is_read_from_the_kernel_and_defaults_where_it_cannot_be(tmp_path):
    proc = tmp_path / "ip_local_port_range"
    proc.write_text("40000\t50000\n")
    assert ports.ephemeral_range(proc) == (40000, 50000)
    assert ports.ephemeral_range(tmp_path / "missing") == (32768, 60999)
