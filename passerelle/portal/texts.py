"""The portal's words, in French and English: a partner reads the collaboration's language.

One table per language, the same keys in both (tests/unit/test_portal_links.py checks it), so a
page never falls back to a key name. `{...}` fields are filled by the page.
"""

LANGUAGES = ("fr", "en")

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Passerelle",
        "for": "You are answering for {party} about this collaboration:",
        "collaboration": "Collaboration",
        "topic": "Topic",
        "programme": "Programme",
        "stage": "Stage",
        "paused_note": "The programme has paused this collaboration: your answer is recorded, no reminders.",
        "action.on_it": "We're on it",
        "action.need_help": "We need help",
        "action.pause": "Pause us until a date",
        "action.stopped": "We have stopped",
        "action.held": "It took place",
        "action.postponed": "It is postponed",
        "action.cancelled": "It is cancelled",
        "about.meeting": "About the meeting planned on {at} (Paris time).",
        "about.demo": "About the demo planned on {at} (Paris time).",
        "about.document": "About the document due on {at} (Paris time).",
        "about.decision": "About the go/no-go meeting planned on {at} (Paris time).",
        "about.step": "About the planned step {step}.",
        "explain.on_it": "Tell the programme that things are moving. Reminders start again from today.",
        "explain.need_help": "The programme owner is told at once and will get back to you.",
        "explain.pause": "No reminder before the date you choose (at most {max_days} days from today).",
        "explain.stopped": "The programme confirms the end of the collaboration; no reminders meanwhile.",
        "explain.held": "Tell the programme that it took place. Reminders start again from today.",
        "explain.postponed": (
            "Choose the new date and time, Paris time, within a year. Whoever is invited gets the "
            "updated invitation."
        ),
        "explain.cancelled": (
            "Tell the programme that it will not take place. Whoever is invited gets the cancellation."
        ),
        "field.note": "Note (optional)",
        "field.need_help": "What do you need? (required)",
        "field.stopped": "Why did it stop? (required)",
        "field.until": "Pause until",
        "field.at": "New date and time (Paris time)",
        "confirm": "Confirm",
        "small": "Nothing is recorded until you confirm. This link works once, until {expires}.",
        "error.heading": "Please check the form",
        "error.note_required": "{field}: please write a few words.",
        "error.note_long": "{field}: at most {max} characters.",
        "error.until": "{field}: choose a date between {min} and {max}.",
        "error.at": "{field}: choose a date and time between {min} and {max}.",
        "error.held_early": "It is planned for {at} (Paris time): answer once it has taken place.",
        "done.heading": "Thank you: your answer is recorded",
        "done.when": "Recorded on {at} as entry #{seq} of the collaboration.",
        "done.on_it": "The programme sees that things are moving; reminders start again from today.",
        "done.need_help": "The programme owner has been told and will contact you.",
        "done.pause": "No reminders before {until}.",
        "done.stopped": "The programme will confirm the end of the collaboration.",
        "done.held": "The programme sees that it took place; reminders start again from today.",
        "done.postponed": "Moved to {at} (Paris time); whoever is invited gets the updated invitation.",
        "done.cancelled": "Cancelled; whoever is invited gets the cancellation.",
        "refused.forged": "This link is not valid",
        "refused.forged.why": (
            "It may have been altered or cut when it was copied. Open the link from the e-mail as it "
            "is, or ask the programme for a new one. Nothing was recorded."
        ),
        "refused.expired": "This link has expired",
        "refused.expired.why": (
            "Links work for {days} days. The next e-mail from the programme carries new ones. "
            "Nothing was recorded."
        ),
        "refused.used": "This link has already been used",
        "refused.used.why": "Its answer was recorded on {at}. There is nothing more to do.",
        "refused.answered": "This link has already answered",
        "refused.answered.why": "Its answer is recorded. There is nothing more to do.",
        "refused.busy": "This answer is being recorded",
        "refused.busy.why": "Another confirmation of this link is under way. Reload this page in a minute.",
        "refused.closed": "This collaboration is closed",
        "refused.closed.why": "It has ended, so nothing can be recorded any more. Nothing was recorded.",
        "refused.paused": "The programme has already paused this collaboration",
        "refused.paused.why": "No reminders are sent while it is paused. Nothing was recorded.",
        "refused.step": "This step is no longer planned",
        "refused.step.why": (
            "It has already been marked as held or cancelled, by you, the other party or the programme. "
            "Nothing was recorded."
        ),
        "refused.csrf": "This form has expired",
        "refused.csrf.why": "Open the link from the e-mail again and confirm. Nothing was recorded.",
        "refused.rate": "Too many attempts",
        "refused.rate.why": "Please wait a minute and try again. Nothing was recorded.",
        "refused.unavailable": "The service is unavailable",
        "refused.unavailable.why": "Your answer was not recorded. Please try again in a few minutes.",
        "refused.other": "The programme could not record this answer",
        "refused.other.why": "Nothing was recorded. {reason}",
        "not_found": "There is nothing at this address.",
    },
    "fr": {
        "title": "Passerelle",
        "for": "Vous répondez pour {party} au sujet de cette collaboration :",
        "collaboration": "Collaboration",
        "topic": "Sujet",
        "programme": "Programme",
        "stage": "Étape",
        "paused_note": (
            "Le programme a mis cette collaboration en pause : votre réponse est enregistrée, les "
            "relances restent suspendues."
        ),
        "action.on_it": "Nous avançons",
        "action.need_help": "Nous avons besoin d'aide",
        "action.pause": "Mettez-nous en pause jusqu'à une date",
        "action.stopped": "Nous avons arrêté",
        "action.held": "Cela a eu lieu",
        "action.postponed": "C'est reporté",
        "action.cancelled": "C'est annulé",
        "about.meeting": "Au sujet de la réunion prévue le {at} (heure de Paris).",
        "about.demo": "Au sujet de la démonstration prévue le {at} (heure de Paris).",
        "about.document": "Au sujet du document attendu le {at} (heure de Paris).",
        "about.decision": "Au sujet de la réunion de décision go/no-go prévue le {at} (heure de Paris).",
        "about.step": "Au sujet de l'étape prévue {step}.",
        "explain.on_it": "Dites au programme que les choses avancent. Les relances repartent d'aujourd'hui.",
        "explain.need_help": "Le responsable du programme est prévenu tout de suite et reviendra vers vous.",
        "explain.pause": "Aucune relance avant la date choisie (au plus {max_days} jours après aujourd'hui).",
        "explain.stopped": ("Le programme confirme la fin de la collaboration ; plus de relance d'ici là."),
        "explain.held": "Dites au programme que cela a eu lieu. Les relances repartent d'aujourd'hui.",
        "explain.postponed": (
            "Choisissez la nouvelle date et l'heure, heure de Paris, d'ici un an au plus. Les personnes "
            "invitées reçoivent l'invitation mise à jour."
        ),
        "explain.cancelled": (
            "Dites au programme que cela n'aura pas lieu. Les personnes invitées reçoivent l'annulation."
        ),
        "field.note": "Message (facultatif)",
        "field.need_help": "De quoi avez-vous besoin ? (obligatoire)",
        "field.stopped": "Pourquoi vous êtes-vous arrêtés ? (obligatoire)",
        "field.until": "En pause jusqu'au",
        "field.at": "Nouvelle date et heure (heure de Paris)",
        "confirm": "Confirmer",
        "small": (
            "Rien n'est enregistré avant votre confirmation. Ce lien ne sert qu'une fois, jusqu'au {expires}."
        ),
        "error.heading": "Merci de vérifier le formulaire",
        "error.note_required": "{field} : quelques mots, s'il vous plaît.",
        "error.note_long": "{field} : {max} caractères au plus.",
        "error.until": "{field} : choisissez une date entre le {min} et le {max}.",
        "error.at": "{field} : choisissez une date et une heure entre le {min} et le {max}.",
        "error.held_early": "C'est prévu le {at} (heure de Paris) : répondez une fois que cela a eu lieu.",
        "done.heading": "Merci : votre réponse est enregistrée",
        "done.when": "Enregistrée le {at}, entrée n° {seq} de la collaboration.",
        "done.on_it": "Le programme voit que les choses avancent ; les relances repartent d'aujourd'hui.",
        "done.need_help": "Le responsable du programme est prévenu et va vous contacter.",
        "done.pause": "Aucune relance avant le {until}.",
        "done.stopped": "Le programme va confirmer la fin de la collaboration.",
        "done.held": "Le programme voit que cela a eu lieu ; les relances repartent d'aujourd'hui.",
        "done.postponed": (
            "Reporté au {at} (heure de Paris) ; les personnes invitées reçoivent l'invitation mise à jour."
        ),
        "done.cancelled": "Annulé ; les personnes invitées reçoivent l'annulation.",
        "refused.forged": "Ce lien n'est pas valide",
        "refused.forged.why": (
            "Il a peut-être été modifié ou coupé lors d'un copier-coller. Ouvrez le lien de l'e-mail tel "
            "quel, ou demandez-en un nouveau au programme. Rien n'a été enregistré."
        ),
        "refused.expired": "Ce lien a expiré",
        "refused.expired.why": (
            "Les liens valent {days} jours. Le prochain e-mail du programme en contiendra de nouveaux. "
            "Rien n'a été enregistré."
        ),
        "refused.used": "Ce lien a déjà servi",
        "refused.used.why": "Sa réponse a été enregistrée le {at}. Il n'y a plus rien à faire.",
        "refused.answered": "Ce lien a déjà répondu",
        "refused.answered.why": "Sa réponse est enregistrée. Il n'y a plus rien à faire.",
        "refused.busy": "Cette réponse est en cours d'enregistrement",
        "refused.busy.why": "Une autre confirmation de ce lien est en cours. Rechargez dans une minute.",
        "refused.closed": "Cette collaboration est terminée",
        "refused.closed.why": "Elle est close : plus rien ne peut être enregistré. Rien n'a été enregistré.",
        "refused.paused": "Le programme a déjà mis cette collaboration en pause",
        "refused.paused.why": "Aucune relance n'est envoyée pendant la pause. Rien n'a été enregistré.",
        "refused.step": "Cette étape n'est plus prévue",
        "refused.step.why": (
            "Elle a déjà été indiquée comme tenue ou annulée, par vous, l'autre partie ou le programme. "
            "Rien n'a été enregistré."
        ),
        "refused.csrf": "Ce formulaire a expiré",
        "refused.csrf.why": "Rouvrez le lien de l'e-mail et confirmez. Rien n'a été enregistré.",
        "refused.rate": "Trop de tentatives",
        "refused.rate.why": "Merci de patienter une minute avant de réessayer. Rien n'a été enregistré.",
        "refused.unavailable": "Le service est indisponible",
        "refused.unavailable.why": "Votre réponse n'a pas été enregistrée. Réessayez dans quelques minutes.",
        "refused.other": "Le programme n'a pas pu enregistrer cette réponse",
        "refused.other.why": "Rien n'a été enregistré. {reason}",
        "not_found": "Il n'y a rien à cette adresse.",
    },
}

STAGES = {
    "fr": {
        "introduction": "introduction",
        "qualification": "qualification",
        "pilot": "pilote",
        "evaluation": "évaluation",
        "deployment": "déploiement",
    },
    "en": {s: s for s in ("introduction", "qualification", "pilot", "evaluation", "deployment")},
}
PARTY_LABELS = {"fr": {"startup": "la start-up {name}", "corporate": "le groupe {name}"},
                "en": {"startup": "the start-up {name}", "corporate": "the corporate {name}"}}  # fmt: skip


def texts(language: str) -> dict[str, str]:
    """Return the words of `language`, English when it is not one of ours."""
    return TEXTS.get(language, TEXTS["en"])
