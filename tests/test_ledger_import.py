"""The ledger commands, run as staff run them (flask CLI)."""
from __future__ import annotations

from decimal import Decimal

import pytest

from backend.extensions import db
from backend.models import Bill, Community, FeeStandard, OwnerOfRecord, PolicyText, Room
from tests.conftest import DEMO_LEDGER


@pytest.fixture
def cli(app):
    runner = app.test_cli_runner()

    def run(*args, input=None):
        return runner.invoke(args=list(args), input=input, catch_exceptions=False)

    return run


def write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return str(path)


def counts(app):
    with app.app_context():
        return (db.session.scalar(db.select(db.func.count()).select_from(Room)),
                db.session.scalar(db.select(db.func.count()).select_from(OwnerOfRecord)))


def test_import_creates_community_rooms_owners_and_default_policies(app, cli, tmp_path):
    result = cli("import-ledger", write(tmp_path, "l.csv", DEMO_LEDGER), "--community", "新小区")
    assert result.exit_code == 0, result.output
    assert counts(app) == (8, 5)
    with app.app_context():
        community = db.session.scalar(db.select(Community).filter_by(name="新小区"))
        topics = {p.topic for p in db.session.scalars(db.select(PolicyText))}
        assert topics == {"decoration", "pet", "parking", "garbage", "hours"}
        wang = db.session.scalar(db.select(OwnerOfRecord).filter_by(owner_ref="O-3"))
        assert sorted(r.number for r in wang.rooms) == ["201", "202"]
        unsold = db.session.scalars(db.select(Room).filter(Room.owner_id.is_(None))).all()
        assert len(unsold) == 2
        assert community is not None


def test_reimport_updates_in_place_without_duplicates(app, cli, tmp_path):
    cli("import-ledger", write(tmp_path, "a.csv", DEMO_LEDGER), "--community", "新小区")
    changed = DEMO_LEDGER.replace("1,1,101,98.50,O-1,张三,13900000001",
                                  "1,1,101,99.10,O-1,张三,13900000011")
    result = cli("import-ledger", write(tmp_path, "b.csv", changed))  # only community: default
    assert result.exit_code == 0, result.output
    assert "updated 1" in result.output
    assert counts(app) == (8, 5)
    with app.app_context():
        room = db.session.scalar(db.select(Room).filter_by(number="101").join(Room.building)
                                 .filter_by(name="1"))
        assert room.area_m2 == Decimal("99.10")
        assert room.owner.phone == "13900000011"


def test_a_file_with_bad_rows_imports_nothing_and_names_every_bad_line(app, cli, tmp_path):
    bad = (
        "building,unit,number,area_m2,owner_ref,owner_name,phone,kind\n"
        "1,1,101,98.50,O-1,张三,13900000001,residential_lift\n"   # line 2 ok
        "1,1,102,abc,O-2,李四,13900000002,residential_lift\n"     # line 3 bad area
        "1,1,103,80.00,O-3,王五,12345,residential_lift\n"         # line 4 bad phone
        "1,1,101,98.50,O-1,张三,13900000001,residential_lift\n"   # line 5 duplicate of 2
        "1,1,104,80.00,O-4,赵六,13900000004,villa\n"              # line 6 bad kind
        "1,1,105,-3,O-5,钱七,13900000005,residential\n"           # line 7 negative area
        "1,1,106,70.00,O-1,张三丰,13900000001,residential\n"      # line 8 owner differs
        "1,1,107,70.00,O-8,周八,13900000008,residential\n"        # line 9 ok
    )
    result = cli("import-ledger", write(tmp_path, "bad.csv", bad), "--community", "新小区")
    assert result.exit_code == 1
    lines = {int(l.split(":")[0].split()[1]) for l in result.output.splitlines()
             if l.startswith("line ")}
    assert lines == {3, 4, 5, 6, 7, 8}
    assert "第2行" in result.output  # the duplicate names the first occurrence
    assert counts(app) == (0, 0)


def test_wrong_header_is_reported_on_line_1(app, cli, tmp_path):
    result = cli("import-ledger", write(tmp_path, "h.csv", "a,b\n1,2\n"), "--community", "X")
    assert result.exit_code == 1
    assert "line 1:" in result.output
    assert counts(app) == (0, 0)


def test_gbk_file_from_excel_imports(app, cli, tmp_path):
    result = cli("import-ledger", write(tmp_path, "g.csv", DEMO_LEDGER, "gbk"), "--community", "新小区")
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.scalar(db.select(OwnerOfRecord).filter_by(owner_ref="O-2")).name == "李四"


def test_set_fee_and_import_bills(app, cli, tmp_path, community):
    assert cli("set-fee", "residential_lift", "3.10").exit_code == 0
    assert cli("set-fee", "villa", "3.10").exit_code == 1
    assert cli("set-fee", "shop", "abc").exit_code == 1
    with app.app_context():
        prices = {f.kind.value: f.unit_price for f in db.session.scalars(db.select(FeeStandard))}
    assert prices["residential_lift"] == Decimal("3.10")
    bills = ("building,unit,number,period,amount_yuan,paid_yuan,due_date\n"
             "1,1,101,2026-09,275.80,275.80,2026-09-15\n"
             "1,1,101,2026-10,275.80,0,2026-10-15\n")
    result = cli("import-bills", write(tmp_path, "bills.csv", bills))
    assert result.exit_code == 0, result.output
    again = cli("import-bills", write(tmp_path, "bills.csv", bills))
    assert "unchanged 2" in again.output
    bad = bills + "9,9,999,2026-10,1,0,2026-10-15\n1,1,101,2026-13,1,0,2026-10-15\n"
    result = cli("import-bills", write(tmp_path, "bad.csv", bad))
    assert result.exit_code == 1
    assert "line 4:" in result.output and "line 5:" in result.output
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Bill)) == 2


def test_bills_show_arrears_to_their_owner_only(client, app, cli, tmp_path, community, owner):
    bills = ("building,unit,number,period,amount_yuan,paid_yuan,due_date\n"
             "1,1,201,2026-08,275.80,275.80,2026-08-15\n"
             "1,1,201,2026-09,275.80,100.00,2026-09-15\n"
             "1,1,202,2026-09,336.84,0,2026-09-15\n"
             "1,1,202,2099-01,336.84,0,2099-01-15\n"
             "1,1,101,2026-09,275.80,0,2026-09-15\n")
    assert cli("import-bills", write(tmp_path, "b.csv", bills)).exit_code == 0
    wang = owner("O-3")
    body = client.get("/api/v1/fees/bills", headers=wang).json
    assert body["arrears_yuan"] == "512.64"          # 175.80 + 336.84, both past due
    assert body["outstanding_yuan"] == "849.48"      # plus the bill not yet due
    assert {i["room"] for i in body["items"]} == {"1栋1单元201", "1栋1单元202"}
    zhang = owner("O-1")
    with app.app_context():
        other_room = db.session.scalar(db.select(Room.id).filter_by(number="201"))
    response = client.get(f"/api/v1/fees/bills?room_id={other_room}", headers=zhang)
    assert response.status_code == 404


def test_create_staff_and_grant_committee(client, cli, community, owner):
    result = cli("create-staff", "xiaozhou", "--role", "desk", "--password", "s3cret-pw-2026")
    assert result.exit_code == 0, result.output
    login = client.post("/api/v1/auth/staff-login",
                        json={"username": "xiaozhou", "password": "s3cret-pw-2026"})
    assert login.json["user"]["roles"] == ["desk"]
    headers = owner("O-2")
    assert cli("grant-committee", "O-2").exit_code == 0
    assert "committee" in client.get("/api/v1/me", headers=headers).json["roles"]
    assert cli("grant-committee", "O-2", "--revoke").exit_code == 0
    assert "committee" not in client.get("/api/v1/me", headers=headers).json["roles"]
    assert cli("grant-committee", "NOPE").exit_code == 1


def test_seed_demo_is_idempotent(app, cli):
    first = cli("seed-demo")
    assert first.exit_code == 0, first.output

    def snapshot():
        from backend.models import Base

        with app.app_context():
            return {t.name: db.session.scalar(db.select(db.func.count()).select_from(t))
                    for t in Base.metadata.sorted_tables}

    before = snapshot()
    assert cli("seed-demo").exit_code == 0
    assert snapshot() == before
    assert before["room"] > 100 and before["bill"] > 0
    from backend.seed import DEMO_TICKETS

    # every demo ticket, each with its timeline up to its status
    assert before["ticket"] == len(DEMO_TICKETS) and before["ticket_event"] > before["ticket"]
