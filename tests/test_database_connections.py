"""Reads before a request's Session begins go through a reader engine (autocommit, no
ping on checkout, backend/fastread.py), on a connection each thread keeps. On
PostgreSQL: it must leave no transaction open between requests (that would hold back
VACUUM and block migrations), a connection the server dropped must not turn into an
error for the next request, threads that end give their connections back, and the
busiest read (the ticket list) runs on a cached plan at 100,000 tickets."""
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
    """Each thread keeps its reader connection while it lives; a server that starts a
    thread per request (the development server) must not pile them up."""
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
    assert 0 < count <= 10  # the pools keep a few idle (5 each), not one per thread


def test_the_ticket_list_runs_on_a_cached_plan_at_scale(app, client, owner, staff, database_url):
    """PostgreSQL plans a prepared statement once (a generic plan) only when that plan
    looks no costlier than planning for the values at hand. While the list's LIMIT was
    a parameter, it assumed a tenth of the table, and at 100,000 tickets planned the
    list anew on every request (~2 ms each, several times the query itself)."""
    from backend import fastread
    from backend.extensions import db

    resident = owner("O-1")
    staff("desk")
    with app.app_context():
        me = db.session.execute(text(
            "SELECT u.id, b.room_id, r.community_id FROM \"user\" u "
            "JOIN room_binding b ON b.user_id = u.id JOIN room r ON r.id = b.room_id "
            "WHERE u.openid = 'openid-O-1' LIMIT 1")).one()
        other = db.session.execute(text(
            "SELECT id FROM \"user\" WHERE username = 'desk-user'")).scalar()
        db.session.execute(text(
            "INSERT INTO ticket (community_id, reporter_id, room_id, kind, status, urgent, "
            "description, location, created_at, updated_at, accept_due_at, due_at, "
            "needs_follow_up) "
            "SELECT :community, CASE WHEN g % 500 = 0 THEN :me ELSE :other END, "
            "CASE WHEN g % 500 = 0 THEN :room ELSE NULL END, "
            "(ARRAY['home_repair','common_repair','complaint','suggestion','inquiry'])[1 + g % 5], "
            "'closed', false, 'x', '', now() - g * interval '7 minutes', "
            "now() - g * interval '7 minutes', now(), now(), false "
            "FROM generate_series(1, 100000) AS g"),
            {"community": me.community_id, "me": me.id, "other": other, "room": me.room_id})
        db.session.commit()
        db.session.execute(text("ANALYZE ticket"))
        db.session.commit()
    for _ in range(12):  # psycopg prepares on the 5th run, PostgreSQL decides after 5 more
        response = client.get("/api/v1/tickets?limit=20", headers=resident)
        assert response.status_code == 200 and len(response.json["items"]) == 20
    with app.app_context():  # the reads ran on this thread's reader connection
        with fastread._reader(db.engine).current().cursor() as cursor:
            cursor.execute("SELECT generic_plans, custom_plans FROM pg_prepared_statements "
                           "WHERE statement LIKE '%%FROM ticket%%UNION%%'")
            (generic, custom), = cursor.fetchall()
    assert generic >= 1, (generic, custom)
