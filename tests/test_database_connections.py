"""How requests use database connections, on PostgreSQL: no transaction is left open
between requests (that would hold back VACUUM and block migrations), a connection
the server dropped does not turn into an error for the next request, and a server
that starts a thread per request does not pile up connections."""
from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import TEST_DB

pytestmark = pytest.mark.skipif(TEST_DB != "postgresql",
                                reason="server-side connection behaviour: PostgreSQL only")


def _admin(database_url):
    return create_engine(database_url, isolation_level="AUTOCOMMIT")


def test_reads_leave_no_transaction_open_between_requests(client, owner, database_url):
    resident = owner("O-1")
    for path in ("/api/v1/me", "/api/v1/tickets", "/api/v1/fees/bills"):
        assert client.get(path, headers=resident).status_code == 200
    admin = _admin(database_url)
    with admin.connect() as conn:
        states = conn.execute(text(
            "SELECT state FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()")).scalars().all()
    admin.dispose()
    assert states, "the app keeps pooled connections"
    assert "idle in transaction" not in states


def test_a_connection_dropped_by_the_server_is_replaced_without_an_error(
        client, owner, database_url):
    resident = owner("O-1")
    assert client.get("/api/v1/tickets", headers=resident).status_code == 200
    admin = _admin(database_url)
    with admin.connect() as conn:  # as after a server restart or an idle timeout
        killed = conn.execute(text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalars().all()
    admin.dispose()
    assert killed and all(killed)
    for path in ("/api/v1/tickets", "/api/v1/me"):
        response = client.get(path, headers=resident)
        assert response.status_code == 200, response.get_json()


def test_threads_that_end_give_their_connections_back(app, owner, database_url):
    """A server that starts a thread per request (the development server) must not
    pile up connections."""
    import threading

    resident = owner("O-1")
    statuses = []

    def one_request():
        statuses.append(app.test_client().get("/api/v1/tickets", headers=resident).status_code)

    for _ in range(30):
        thread = threading.Thread(target=one_request)
        thread.start()
        thread.join()
    assert statuses == [200] * 30
    admin = _admin(database_url)
    with admin.connect() as conn:
        count = conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()")).scalar()
    admin.dispose()
    assert 0 < count <= 10  # the pool keeps a few idle, not one per thread
