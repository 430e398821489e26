"""The staff pages' forms (Flask-WTF: every one carries the CSRF token)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

REQUIRED = _l("This field is required.")


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(REQUIRED), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(REQUIRED), Length(max=1024)])
    next = HiddenField()


class ActionForm(FlaskForm):
    """A form that is only a button (logout, seal): the CSRF token is its one field."""


class LanguageForm(FlaskForm):
    lang = HiddenField(validators=[DataRequired()])
    next = HiddenField()


class MeetingForm(FlaskForm):
    meeting_id = StringField(_l("Meeting ID"), validators=[DataRequired(REQUIRED), Length(max=64)],
                             description=_l("Letters, digits, '-' and '_' only, e.g. 2027-npc-3. It appears in the "
                                            "record and on the credential cards' QR codes."))
    title = StringField(_l("Meeting title"), validators=[DataRequired(REQUIRED), Length(max=200)],
                        description=_l("e.g. 某市第十七届人民代表大会第三次会议"))
    body = StringField(_l("Body"), validators=[DataRequired(REQUIRED), Length(max=200)],
                       description=_l("e.g. 某市人民代表大会"))
    members = IntegerField(_l("Members"), validators=[InputRequired(REQUIRED), NumberRange(1, 100_000)],
                           description=_l("All deputies (全体代表) or all members (全体组成人员): the base of "
                                          "majorities and of the quorum."))
    quorum = SelectField(_l("Quorum"), choices=[
        SelectChoice("two_thirds", _l("Two thirds of the members (people's congress)")),
        SelectChoice("majority", _l("More than half of the members (standing committee)")),
    ])
    trustees = TextAreaField(_l("Trustees (监票人)"), validators=[DataRequired(REQUIRED)],
                             description=_l("One name per line, in order: trustee 1, trustee 2, …"))
    threshold = IntegerField(_l("Threshold"), validators=[InputRequired(REQUIRED), NumberRange(1, 16)],
                             description=_l("How many trustees are needed to decrypt a result (e.g. 3 of 5)."))


class RosterUploadForm(FlaskForm):
    file = FileField(_l("Roster file (CSV or XLSX)"), validators=[FileRequired(_l("Choose a file."))])


class RosterConfirmForm(FlaskForm):
    payload = HiddenField(validators=[DataRequired()])
    filename = HiddenField(validators=[DataRequired()])
    digest = HiddenField(validators=[DataRequired()])


class CredentialsForm(FlaskForm):
    file = FileField(_l("creds.json"), validators=[FileRequired(_l("Choose a file."))])


THRESHOLDS = {
    "majority": [SelectChoice("half", _l("More than half of the base")),
                 SelectChoice("two_thirds", _l("Two thirds or more of the base"))],
    "select": [SelectChoice("half", _l("More than half of the base")),
               SelectChoice("none", _l("No threshold (most votes win)"))],
}
BASES = [
    SelectChoice("members", _l("All members (全体代表/组成人员)")),
    SelectChoice("present", _l("Members present (出席)")),
    SelectChoice("cast", _l("Ballots cast (参加表决)")),
]


class VoteForm(FlaskForm):
    vote_id = StringField(_l("Vote ID"), validators=[DataRequired(REQUIRED), Length(max=64)],
                          description=_l("Letters, digits, '-' and '_', e.g. v3."))
    title = StringField(_l("Title"), validators=[DataRequired(REQUIRED), Length(max=300)])
    threshold = SelectField(_l("Threshold"), choices=THRESHOLDS["majority"], validate_choice=False)
    base = SelectField(_l("Base"), choices=BASES)
    recast = BooleanField(_l("Deputies may change their vote while it is open (recast)"))
    seats = IntegerField(_l("Seats"), validators=[Optional(), NumberRange(1, 1000)])
    lines = TextAreaField(_l("Entries"), render_kw={"rows": 10})


class PairingForm(FlaskForm):
    all_seats = BooleanField(_l("Every seat in the roster"))
    seats = TextAreaField(_l("Seats"), description=_l("Seat numbers separated by spaces, commas or new lines."))
