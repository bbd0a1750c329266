"""Reports for the manager and the owners' committee (业委会)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from backend.auth import current_user, roles_required
from backend.errors import Forbidden, ValidationFailed
from backend.extensions import db
from backend.models import Community
from backend.routes.common import Blueprint, RowId
from backend.services import reports as report_service
from backend.services.permissions import community_ids_with

blp = Blueprint("reports", __name__, url_prefix="/api/v1/reports", description="服务报告")


class ServiceReportArgs(Schema):
    # Years 1970-2999: a calendar month the service can have records of (year 0 or
    # 9999 would not even convert to UTC).
    month = fields.String(required=True, validate=validate.Regexp(
        r"^(19[7-9]\d|2\d{3})-(0[1-9]|1[0-2])$", error="月份格式应为 YYYY-MM"),
        metadata={"description": "YYYY-MM (Asia/Shanghai calendar month)"})
    community_id = RowId(load_default=None,
                                  metadata={"description": "when the caller serves several"})


class CommunityOut(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)


class CountsOut(Schema):
    total = fields.Integer(required=True)
    by_kind = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    by_status = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    kind_labels = fields.Dict(keys=fields.String(), values=fields.String())
    status_labels = fields.Dict(keys=fields.String(), values=fields.String())


class OnTimeOut(Schema):
    decided = fields.Integer(required=True, metadata={"description": "resolved or past due"})
    on_time = fields.Integer(required=True)


class GradeOut(Schema):
    code = fields.String(required=True,
                         metadata={"description": "three_star, two_star, one_star, no_star, rectify"})
    label = fields.String(required=True)
    stars = fields.Integer(required=True)


class ServiceReportOut(Schema):
    community = fields.Nested(CommunityOut, required=True)
    month = fields.String(required=True)
    counts = fields.Nested(CountsOut, required=True)
    on_time = fields.Nested(OnTimeOut, required=True)
    on_time_rate = fields.Float(allow_none=True, required=True,
                                metadata={"description": "0-1; null when nothing was due yet"})
    accept_on_time_rate = fields.Float(allow_none=True, required=True)
    rated = fields.Integer(required=True)
    average_rating = fields.Float(allow_none=True, required=True)
    satisfaction_rate = fields.Float(allow_none=True, required=True,
                                     metadata={"description": "ratings 4-5 over all ratings"})
    escalated = fields.Integer(required=True)
    follow_up_pending = fields.Integer(required=True)
    score = fields.Float(allow_none=True, required=True, metadata={"description": "0-100"})
    grade = fields.Nested(GradeOut, allow_none=True, required=True)


@blp.route("/service", methods=["GET"])
@roles_required("manager", "committee")
@blp.arguments(ServiceReportArgs, location="query")
@blp.response(200, ServiceReportOut)
def service_report(args):
    """Monthly service figures: counts by kind and status, on-time rate, average
    rating, satisfaction rate, score and star grade."""
    user = current_user()
    allowed = community_ids_with(user, "manager", "committee")
    if args["community_id"] is not None:
        if args["community_id"] not in allowed:
            raise Forbidden("您不是该小区的项目经理或业委会委员", code="forbidden")
        community_id = args["community_id"]
    elif len(allowed) == 1:
        community_id = next(iter(allowed))
    else:
        raise ValidationFailed("请指定小区", code="community_required",
                               details={"fields": {"community_id": ["请选择小区"]}})
    community = db.session.get(Community, community_id)
    report = report_service.monthly_service_report(community, args["month"])
    return report
