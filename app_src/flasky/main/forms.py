from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, SubmitField, TextAreaField, ValidationError
from wtforms.validators import DataRequired, Email, Length

from ..auth.forms import USERNAME_VALIDATORS
from ..models import Role, User


class ActionForm(FlaskForm):
    """An empty form: a CSRF-protected POST for actions (follow, unfollow, moderate, ...)."""
    submit = SubmitField("Submit")


class EditProfileForm(FlaskForm):
    name = StringField("Real name", validators=[Length(0, 64)])
    location = StringField("Location", validators=[Length(0, 64)])
    about_me = TextAreaField("About me")
    submit = SubmitField("Submit")


class EditProfileAdminForm(FlaskForm):
    email = StringField("Email", validators=[DataRequired(), Length(1, 64), Email()])
    username = StringField("Username", validators=USERNAME_VALIDATORS)
    confirmed = BooleanField("Confirmed")
    role = SelectField("Role", coerce=int)
    name = StringField("Real name", validators=[Length(0, 64)])
    location = StringField("Location", validators=[Length(0, 64)])
    about_me = TextAreaField("About me")
    submit = SubmitField("Submit")

    def __init__(self, user, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.role.choices = [(role.id, role.name) for role in Role.query.order_by(Role.name).all()]
        self.user = user

    def validate_email(self, field):
        if field.data != self.user.email and User.query.filter_by(email=field.data).first():
            raise ValidationError("Email already registered.")

    def validate_username(self, field):
        if field.data != self.user.username and User.query.filter_by(username=field.data).first():
            raise ValidationError("Username already in use.")


class PostForm(FlaskForm):
    body = TextAreaField("What's on your mind?", validators=[DataRequired(), Length(1, 10000)])
    submit = SubmitField("Submit")


class CommentForm(FlaskForm):
    body = StringField("Enter your comment", validators=[DataRequired(), Length(1, 2000)])
    submit = SubmitField("Submit")
