"""Command-line tools (``flask --app wsgi <command>``) for the property company's
staff and operators. Output for people is Chinese where it names a problem in their
data; the structure (line numbers) is stable for scripts."""
from __future__ import annotations

import sys
import time
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from backend.extensions import db


def _fail(message: str) -> None:
    click.echo(message, err=True)
    sys.exit(1)


def _import_csv(importer, community, csv_file: Path):
    """Run an all-or-nothing CSV import; with bad rows, print each one's line number
    and reason and exit 1 (nothing is imported)."""
    from backend.errors import AppError
    from backend.services.ledger import ImportFailed

    try:
        result = importer(community, csv_file.read_bytes())
        db.session.commit()
    except ImportFailed as exc:
        db.session.rollback()
        for line, reason in exc.errors:
            click.echo(f"line {line}: {reason}", err=True)
        _fail(f"导入失败：{len(exc.errors)} 行有错误，未导入任何数据")
    except AppError as exc:
        db.session.rollback()
        _fail(exc.message)
    return result


@click.command("import-ledger")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--community", "community_name", default=None, help="community name (created if missing)")
@with_appcontext
def import_ledger_command(csv_file: Path, community_name: str | None):
    """Import rooms, areas and owners of record from a ledger CSV (all or nothing)."""
    from backend.errors import AppError
    from backend.services.community import get_or_create_community, resolve_community
    from backend.services.ledger import import_ledger

    started = time.perf_counter()
    if community_name:
        community, _ = get_or_create_community(community_name)
    else:
        try:
            community = resolve_community(None)
        except AppError as exc:
            if exc.code == "community_not_found":
                _fail("还没有小区：首次导入请用 --community 指定小区名称")
            _fail(exc.message)
    result = _import_csv(import_ledger, community, csv_file)
    elapsed = time.perf_counter() - started
    click.echo(f"{community.name}: created {result.created}, updated {result.updated}, "
               f"unchanged {result.unchanged} rooms; owners created {result.owners_created}, "
               f"updated {result.owners_updated} ({elapsed:.2f}s)")
    for note in result.notes:
        click.echo(note)


@click.command("import-bills")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--community", "community_name", default=None)
@with_appcontext
def import_bills_command(csv_file: Path, community_name: str | None):
    """Import property-fee bills (all or nothing)."""
    from backend.errors import AppError
    from backend.services.community import resolve_community
    from backend.services.ledger import import_bills

    try:
        community = resolve_community(community_name)
    except AppError as exc:
        _fail(exc.message)
    result = _import_csv(import_bills, community, csv_file)
    click.echo(f"{community.name}: bills created {result.created}, updated {result.updated}, "
               f"unchanged {result.unchanged}")


@click.command("set-fee")
@click.argument("kind")
@click.argument("price")
@click.option("--community", "community_name", default=None)
@with_appcontext
def set_fee_command(kind: str, price: str, community_name: str | None):
    """Publish the fee standard (yuan per m² per month) for a kind of room."""
    from backend.errors import AppError
    from backend.services.community import resolve_community, set_fee

    try:
        community = resolve_community(community_name)
        standard = set_fee(community, kind, price)
        db.session.commit()
    except AppError as exc:
        db.session.rollback()
        _fail(exc.message)
    click.echo(f"{community.name}: {standard.kind.value} = {standard.unit_price} 元/㎡·月")


@click.command("create-staff")
@click.argument("username")
@click.option("--role", "role_name", required=True,
              type=click.Choice(["desk", "engineer", "manager", "admin"]))
@click.option("--community", "community_name", default=None)
@click.option("--name", "display_name", default=None, help="display name")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@with_appcontext
def create_staff_command(username, role_name, community_name, display_name, password):
    """Create a staff account (or add a role to it)."""
    from backend.errors import AppError
    from backend.models import Role, User
    from backend.services.auth import check_password_policy, hash_password
    from backend.services.community import resolve_community
    from backend.services.permissions import grant_staff_role

    try:
        check_password_policy(username, password)
        community = resolve_community(community_name)
    except AppError as exc:
        _fail(exc.message)
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        user = User(username=username, name=display_name or username)
        db.session.add(user)
    user.password_hash = hash_password(password)
    if display_name:
        user.name = display_name
    db.session.flush()
    grant_staff_role(user, community.id, Role(role_name))
    db.session.commit()
    click.echo(f"{username}: {role_name} @ {community.name}")


@click.command("grant-committee")
@click.argument("owner_ref")
@click.option("--community", "community_name", default=None)
@click.option("--revoke", is_flag=True, help="remove committee membership")
@with_appcontext
def grant_committee_command(owner_ref: str, community_name: str | None, revoke: bool):
    """Make the owner of record OWNER_REF a committee member (业委会委员)."""
    from backend.errors import AppError
    from backend.models import OwnerOfRecord
    from backend.services.community import resolve_community

    try:
        community = resolve_community(community_name)
    except AppError as exc:
        _fail(exc.message)
    owner = db.session.scalar(select(OwnerOfRecord).where(
        OwnerOfRecord.community_id == community.id, OwnerOfRecord.owner_ref == owner_ref))
    if owner is None:
        _fail(f"台账中没有产权人编号 {owner_ref}")
    owner.is_committee = not revoke
    db.session.commit()
    click.echo(f"{owner.name} ({owner_ref}): {'revoked' if revoke else 'committee member'}")


@click.command("seed-demo")
@with_appcontext
def seed_demo_command():
    """Create the demo community (idempotent: a second run changes nothing)."""
    from backend.seed import seed_demo

    if current_app.config["APP_ENV"] == "production":
        _fail("生产环境不能导入演示数据（seed-demo 会创建公开密码的演示账号）")
    summary = seed_demo()
    db.session.commit()
    click.echo(summary)


@click.command("worker")
@click.option("--queues", default="default", help="comma-separated queue names")
@click.option("--burst", is_flag=True, help="exit when the queues are empty")
@with_appcontext
def worker_command(queues: str, burst: bool):
    """Run an rq worker with the scheduler, inside the app context."""
    from rq import Worker
    from rq.serializers import JSONSerializer

    from backend.jobs.queue import redis_connection, relay_pending, schedule_tick

    conn = redis_connection()
    if conn is None:
        _fail("REDIS_URL is not set: jobs run inline, no worker is needed")
    schedule_tick(delay=1)
    relay_pending()
    db.session.remove()
    db.engine.dispose()  # the forked work horses open their own connections
    worker = Worker([q.strip() for q in queues.split(",") if q.strip()], connection=conn,
                    serializer=JSONSerializer)
    worker.work(with_scheduler=True, burst=burst, logging_level=current_app.config["LOG_LEVEL"])


@click.command("relay-outbox")
@with_appcontext
def relay_outbox_command():
    """Push jobs still waiting in the outbox to Redis (also done by every tick)."""
    from backend.jobs.queue import relay_pending, tick_inline, uses_redis

    if uses_redis():
        click.echo(f"relayed {relay_pending()} job(s)")
    else:
        tick_inline()
        click.echo("inline mode: ran due jobs and periodic tasks")


@click.command("tick")
@with_appcontext
def tick_command():
    """Run periodic tasks now (escalations, auto-close, vote closing) and due jobs.
    With Redis the due jobs go to the queue for the workers (a job runs in one place)."""
    from backend.jobs.queue import relay_pending, run_periodic, tick_inline, uses_redis

    if uses_redis():
        run_periodic(force=True)
        click.echo(f"ok; relayed {relay_pending()} job(s) to the workers")
    else:
        tick_inline()
        click.echo("ok")


@click.command("bot-eval")
@click.argument("questions", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--rules", "rules_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="rules file (default: the app's BOT_RULES_PATH or backend/bot/rules.yaml)")
@click.option("--min-accuracy", type=float, default=None,
              help="exit with status 1 when accuracy is below this fraction (e.g. 0.95)")
@with_appcontext
def bot_eval_command(questions: Path, rules_path: Path | None, min_accuracy: float | None):
    """Evaluate the bot on a labelled YAML file ([{text, intent}]): per-intent
    precision and recall, overall accuracy and the misclassified questions."""
    from backend.bot.evaluate import evaluate, load_examples
    from backend.bot.matcher import DEFAULT_RULES, Matcher, RulesError, load_rules

    try:
        rules = load_rules(rules_path or current_app.config.get("BOT_RULES_PATH") or DEFAULT_RULES)
        examples = load_examples(questions)
    except (RulesError, ValueError) as exc:
        _fail(str(exc))
    report = evaluate(Matcher(rules), examples)
    click.echo(report.render())
    if min_accuracy is not None and report.accuracy < min_accuracy:
        _fail(f"accuracy {report.accuracy:.1%} is below {min_accuracy:.0%}")


# --- maintenance fund (专项维修资金) ---
@click.command("verify-ballots")
@click.argument("proposal_id", type=int)
@with_appcontext
def verify_ballots_command(proposal_id: int):
    """Check a fund proposal's ballot hash chain; exit 1 and say where if any ballot was
    edited, deleted or inserted after the fact."""
    from backend.errors import AppError
    from backend.services.fund_ballots import verify

    try:
        report = verify(proposal_id)
    except AppError as exc:
        _fail(exc.message)
    db.session.rollback()
    if not report.ok:
        for problem in report.problems:
            click.echo(f"proposal {proposal_id}: {problem}", err=True)
        _fail(f"校验失败：表决事项 {proposal_id} 的选票记录有 {len(report.problems)} 处异常")
    click.echo(f"proposal {proposal_id}: OK, {report.ballots} ballot(s), head {report.head}")


@click.command("import-fund-ledger")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--community", "community_name", default=None)
@with_appcontext
def import_fund_ledger_command(csv_file: Path, community_name: str | None):
    """Import maintenance-fund entries (ref,date,building,direction,amount_yuan,description);
    all or nothing, re-import updates by ref."""
    from backend.errors import AppError
    from backend.services.community import resolve_community
    from backend.services.fund_ledger import import_fund_ledger

    try:
        community = resolve_community(community_name)
    except AppError as exc:
        _fail(exc.message)
    result = _import_csv(import_fund_ledger, community, csv_file)
    click.echo(f"{community.name}: fund entries created {result.created}, updated {result.updated}, "
               f"unchanged {result.unchanged}")



@click.command("set-fund-rule")
@click.option("--objection-threshold", default=None,
              help='否定表决: share of objections that rejects, > 0 and ≤ 1/2 ("1/3", "30%")')
@click.option("--objection-basis", default=None,
              help="what the threshold is measured on: area, headcount, either or both")
@click.option("--objection-days", type=int, default=None, help="shortest objection window (days, ≥ 3)")
@click.option("--vote-days", type=int, default=None,
              help="shortest civil-code voting window (days, ≥ 3)")
@click.option("--publicity-days", type=int, default=None,
              help="shortest publicity of a result before payment (days, ≥ 3)")
@click.option("--notice-days", type=int, default=None,
              help="shortest publicity of a proposal before voting opens (公示, days, ≥ 3)")
@click.option("--query-days", type=int, default=None,
              help="query window after the preliminary result (询异, days, ≥ 1)")
@click.option("--allow-change/--no-allow-change", default=None,
              help="civil-code votes: an owner may change a cast ballot once")
@click.option("--community", "community_name", default=None)
@with_appcontext
def set_fund_rule_command(objection_threshold, objection_basis, objection_days, vote_days,
                          publicity_days, community_name, notice_days=None, query_days=None,
                          allow_change=None):
    """Set the community's maintenance-fund rules (every proposal follows them; votes
    already open keep theirs)."""
    from backend.errors import AppError
    from backend.services.community import resolve_community
    from backend.services.fund.settings import set_fund_rule

    try:
        community = resolve_community(community_name)
        applied = set_fund_rule(community, objection_threshold=objection_threshold,
                                objection_basis=objection_basis,
                                objection_days=objection_days, vote_days=vote_days,
                                publicity_days=publicity_days, notice_days=notice_days,
                                query_days=query_days, allow_change=allow_change)
        db.session.commit()
    except AppError as exc:
        db.session.rollback()
        _fail(exc.message)
    click.echo(f"{community.name}: objection {applied.threshold_text} ({applied.objection_basis}), "
               f"windows {applied.window_days}, publicity {applied.publicity_days} days, "
               f"notice {applied.notice_days} days, queries {applied.query_days} days, "
               f"change {'allowed' if applied.allow_change else 'not allowed'}")

# --- tickets (报事报修) ---
@click.command("sweep-photos")
@click.option("--older-than-hours", type=float, default=1.0, show_default=True,
              help="leave files younger than this alone (uploads in flight)")
@click.option("--dry-run", is_flag=True, help="list what would be deleted")
@with_appcontext
def sweep_photos_command(older_than_hours: float, dry_run: bool):
    """Delete stored ticket photo files that no photo record refers to."""
    from datetime import timedelta

    from backend.services.photos import sweep_orphans

    result = sweep_orphans(timedelta(hours=older_than_hours), dry_run=dry_run)
    for key in result["removed"]:
        click.echo(f"{'would delete' if dry_run else 'deleted'} {key}")
    click.echo(f"checked {result['checked']} file(s), "
               f"{'would delete' if dry_run else 'deleted'} {len(result['removed'])}")


@click.command("storage-copy")
@click.option("--to", "target_name", type=click.Choice(["s3"]), required=True,
              help="The backend to copy the local media directory (MEDIA_DIR) to.")
@with_appcontext
def storage_copy_command(target_name: str):
    """Copy existing local files to the bucket (S3_* settings) under the same keys.
    Safe to interrupt and run again: files already there (same size and ETag) are
    skipped. Switch STORAGE_BACKEND=s3 once it reports no failures."""
    from backend.services.storage import BACKENDS, copy_local_to

    config = current_app.config
    counts = copy_local_to(BACKENDS[target_name](config), config["MEDIA_DIR"])
    click.echo(f"copied {counts['copied']}, skipped {counts['skipped']} (already there), "
               f"failed {counts['failed']}")
    if counts["failed"]:
        _fail("有文件未能复制，请检查对象存储后重新运行（已复制的文件会跳过）")


COMMANDS = [
    import_ledger_command, import_bills_command, set_fee_command, create_staff_command,
    grant_committee_command, seed_demo_command, worker_command, relay_outbox_command,
    tick_command, bot_eval_command, verify_ballots_command, import_fund_ledger_command,
    sweep_photos_command, set_fund_rule_command, storage_copy_command,
]


def register(app) -> None:
    for command in COMMANDS:
        app.cli.add_command(command)
