"""A room binding grants an owner's rights only while the ledger still names the owner
it was verified against: ``RoomBinding.is_current_owner``, in Python and in SQL."""
from sqlalchemy import select

from backend.extensions import db
from backend.models import Community, Role, RoomBinding, User
from tests.conftest import DEMO_LEDGER


def test_is_current_owner_agrees_in_python_and_sql(client, app, community, owner, login,
                                                    rooms_by_label):
    from backend.services.ledger import import_ledger

    owner("O-1")  # 1-1-101, sold below
    owner("O-3")  # 1-1-201 and 1-1-202, still theirs
    login("openid-family")
    with app.app_context():
        family = db.session.scalar(select(User).filter_by(openid="openid-family"))
        db.session.add_all([
            RoomBinding(user_id=family.id, room_id=rooms_by_label["1-1-102"],
                        relation=Role.family),
            # An owner binding never verified against an owner of record.
            RoomBinding(user_id=family.id, room_id=rooms_by_label["2-1-101"],
                        relation=Role.owner, owner_id=None),
        ])
        sold = DEMO_LEDGER.replace("O-1,张三,13900000001", "O-9,孙九,13900000009")
        import_ledger(db.session.get(Community, community["id"]), sold)
        db.session.commit()

    with app.app_context():
        bindings = db.session.scalars(select(RoomBinding)).all()
        in_python = {b.id for b in bindings if b.is_current_owner}
        in_sql = set(db.session.scalars(
            select(RoomBinding.id).where(RoomBinding.is_current_owner)))
        # The same test with room joined into the outer query (the EXISTS must still
        # look at the binding's own room).
        joined = set(db.session.scalars(
            select(RoomBinding.id).join(RoomBinding.room).where(RoomBinding.is_current_owner)))
        labels = {b.id: b.room.label for b in bindings}
        assert in_python == in_sql == joined
        assert sorted(labels[i] for i in in_python) == ["1栋1单元201", "1栋1单元202"]
        assert len(bindings) == 5
        # is_current (every right a room gives): the family binding counts too, the
        # seller's and the never-verified owner binding do not
        current = {b.id for b in bindings if b.is_current}
        assert current == set(db.session.scalars(
            select(RoomBinding.id).where(RoomBinding.is_current)))
        assert sorted(labels[i] for i in current) == ["1栋1单元102", "1栋1单元201", "1栋1单元202"]


def test_the_sellers_roles_drop_owner_and_the_buyer_keeps_theirs(client, app, community, owner):
    from backend.services.ledger import import_ledger

    seller, keeper = owner("O-1"), owner("O-3")
    sold = DEMO_LEDGER.replace("O-1,张三,13900000001", "O-9,孙九,13900000009")
    with app.app_context():
        import_ledger(db.session.get(Community, community["id"]), sold)
        db.session.commit()
    assert "owner" not in client.get("/api/v1/me", headers=seller).json["roles"]
    assert "owner" in client.get("/api/v1/me", headers=keeper).json["roles"]
