"""Staff and group administration from the bot, for those whose role allows it.

Admins: ``/staff add ID ROLE NAME``, ``/staff role ID ROLE``, ``/staff off ID``,
``/staff on ID``. Team leads (and admins): ``/group rename NAME | NEW``,
``/group assign NAME | ID``, ``/group close NAME``, ``/group move PARTICIPANT_ID | NAME``.
The role is checked on every call; every change goes to the audit log.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import CommandHandler

from bot.context import BotContext
from bot.core import organisation
from bot.core.organisation import OrganisationError
from bot.handlers.common import answer, staff_only
from storage.db import unit_of_work
from storage.models import Role


async def staff_command(update: Update, context: BotContext) -> None:
    who = await staff_only(update, context)
    if who is None or who.staff is None:
        return
    _ = who.t.gettext
    if who.staff.role != Role.ADMIN:
        await answer(update, _("⛔ Réservé aux administrateurs."))
        return
    args = context.args or []
    now = context.deps.clock.now()
    try:
        async with unit_of_work(context.deps.sessionmaker) as session:
            if len(args) >= 4 and args[0] == "add" and args[1].isdigit():
                await organisation.add_staff(
                    session,
                    telegram_user_id=int(args[1]),
                    role=args[2],
                    name=" ".join(args[3:]),
                    now=now,
                )
            elif len(args) == 3 and args[0] == "role" and args[1].isdigit():
                await organisation.set_role(session, telegram_user_id=int(args[1]), role=args[2])
            elif len(args) == 2 and args[0] in ("off", "on") and args[1].isdigit():
                if int(args[1]) == who.telegram_user_id:
                    raise OrganisationError("one does not deactivate oneself")
                await organisation.set_active(
                    session, telegram_user_id=int(args[1]), active=args[0] == "on"
                )
            else:
                await answer(
                    update,
                    _(
                        "Utilisation :\n/staff add ID ROLE Prénom N.\n/staff role ID ROLE\n"
                        "/staff off ID\n/staff on ID\nROLE : referent, lead, admin"
                    ),
                )
                return
            await session.commit()
    except OrganisationError:
        await answer(update, _("⚠️ Impossible : vérifiez l'identifiant, le rôle et le nom."))
        return
    await answer(update, _("✅ C'est fait."))


async def group_command(update: Update, context: BotContext) -> None:
    who = await staff_only(update, context)
    if who is None or who.staff is None:
        return
    _ = who.t.gettext
    if not who.staff.sees_everything:
        await answer(update, _("⛔ Réservé aux responsables d'équipe."))
        return
    words = context.args or []
    action = words[0] if words else ""
    parts = [p.strip() for p in " ".join(words[1:]).split("|")]
    now = context.deps.clock.now()
    try:
        async with unit_of_work(context.deps.sessionmaker) as session:
            if action == "create" and len(parts) == 3 and parts[2].isdigit():
                await organisation.create_group(
                    session,
                    module=parts[0],
                    name=parts[1],
                    referent_telegram_id=int(parts[2]),
                    now=now,
                )
            elif action == "rename" and len(parts) == 2:
                await organisation.rename_group(session, name=parts[0], new_name=parts[1])
            elif action == "assign" and len(parts) == 2 and parts[1].isdigit():
                await organisation.assign_referent(
                    session, name=parts[0], referent_telegram_id=int(parts[1])
                )
            elif action == "close" and len(parts) == 1 and parts[0]:
                await organisation.close_group(session, name=parts[0], now=now)
            elif action == "move" and len(parts) == 2 and parts[0].isdigit():
                await organisation.move_participant(
                    session, participant_id=int(parts[0]), to_group=parts[1], now=now
                )
            else:
                await answer(
                    update,
                    _(
                        "Utilisation :\n/group create MODULE | GROUPE | ID\n"
                        "/group rename GROUPE | NOUVEAU NOM\n"
                        "/group assign GROUPE | ID\n/group close GROUPE\n"
                        "/group move N° PARTICIPANT | GROUPE"
                    ),
                )
                return
            await session.commit()
    except OrganisationError:
        await answer(update, _("⚠️ Impossible : vérifiez le nom du groupe et l'identifiant."))
        return
    await answer(update, _("✅ C'est fait."))


HANDLERS = [CommandHandler("staff", staff_command), CommandHandler("group", group_command)]
