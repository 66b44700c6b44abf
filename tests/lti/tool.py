"""A small LTI 1.3 tool built on pylti1p3 (a maintained LTI library nobody on Lectern wrote) and
Flask: the tool of tests/api/lti_browser.rs and the worked example of docs/lti.md.

Everything LTI is the library's: the login initiation (state cookie, nonce), the launch's
validation (state, the ID token's RS256 signature against Lectern's JWKS, iss, aud, nonce,
deployment id, message type, version), the client assertion it signs for Lectern's token
endpoint, the grade service (line item, score) and the roster service. This file only wires it
to Flask and shows what came back.

Configuration comes from the environment (the test registers the tool with
`lectern lti tools add --json` and passes what that printed):

  TOOL_PORT          where to listen, on localhost
  LTI_ISSUER         Lectern's issuer (its public URL)
  LTI_CLIENT_ID      the client id Lectern gave the tool
  LTI_DEPLOYMENT_ID  the deployment id Lectern gave the tool
  LTI_AUTH_URL       Lectern's authorization endpoint
  LTI_TOKEN_URL      Lectern's token endpoint
  LTI_JWKS_URL       Lectern's JWKS

The tool makes its own RSA key at start and publishes it at /jwks: the URL registered as its
JWKS URL, which Lectern checks the tool's client assertions against.
"""

import datetime
import html
import os
import secrets

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask, jsonify, request
from pylti1p3.contrib.flask import FlaskMessageLaunch, FlaskOIDCLogin, FlaskRequest
from pylti1p3.exception import LtiException, LtiServiceException
from pylti1p3.grade import Grade
from pylti1p3.tool_config import ToolConfDict

PORT = int(os.environ["TOOL_PORT"])
ISSUER = os.environ["LTI_ISSUER"]
BASE = f"http://localhost:{PORT}"
LAUNCH_URL = f"{BASE}/launch"

key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PRIVATE_PEM = key.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
).decode()
PUBLIC_PEM = key.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
).decode()

tool_conf = ToolConfDict(
    {
        ISSUER: {
            "default": True,
            "client_id": os.environ["LTI_CLIENT_ID"],
            "auth_login_url": os.environ["LTI_AUTH_URL"],
            "auth_token_url": os.environ["LTI_TOKEN_URL"],
            "auth_audience": None,
            "key_set_url": os.environ["LTI_JWKS_URL"],
            "key_set": None,
            "deployment_ids": [os.environ["LTI_DEPLOYMENT_ID"]],
        }
    }
)
tool_conf.set_private_key(ISSUER, PRIVATE_PEM)
tool_conf.set_public_key(ISSUER, PUBLIC_PEM)

app = Flask(__name__)
app.secret_key = secrets.token_bytes(32)
# The launch arrives as a cross-site form post from Lectern: the library's state cookie and the
# session (which holds the nonce and the launch) must be SameSite=None, hence Secure. Browsers
# treat http://localhost as a secure context, so they keep Secure cookies there.
app.config.update(SESSION_COOKIE_SAMESITE="None", SESSION_COOKIE_SECURE=True)


def lti_request():
    return FlaskRequest(request_is_secure=True)


def page(title, body, status=200):
    text = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title></head>
<body><h1>{html.escape(title)}</h1>{body}</body></html>"""
    return text, status, {"content-type": "text/html; charset=utf-8"}


def failure(what, error):
    return page("Quiz Tool: error", f'<p id="error">{html.escape(what)}: {html.escape(str(error))}</p>', 400)


@app.get("/jwks")
def jwks():
    return jsonify(tool_conf.get_jwks(iss=ISSUER))


@app.route("/login", methods=["GET", "POST"])
def login():
    req = lti_request()
    target = req.get_param("target_link_uri")
    if target != LAUNCH_URL:
        return failure("login", f"unexpected target_link_uri {target!r}")
    try:
        return FlaskOIDCLogin(req, tool_conf).redirect(target)
    except LtiException as e:
        return failure("login", e)


@app.post("/launch")
def launch():
    try:
        message = FlaskMessageLaunch(lti_request(), tool_conf)
        data = message.get_launch_data()
    except LtiException as e:
        return failure("launch", e)
    context = data.get("https://purl.imsglobal.org/spec/lti/claim/context", {})
    link = data.get("https://purl.imsglobal.org/spec/lti/claim/resource_link", {})
    role = "student" if message.check_student_access() else "teacher" if message.check_teacher_access() else "other"
    launch_id = html.escape(message.get_launch_id())
    forms = ""
    if message.has_ags() and role == "student":
        forms += f"""<form method="post" action="/score"><input type="hidden" name="launch_id" value="{launch_id}">
<label>Points out of 10 <input type="number" name="points" id="points" min="0" max="10" step="0.5" value="8"></label>
<button type="submit" id="send-score">Send my score to Lectern</button></form>"""
    if message.has_nrps():
        forms += f'<p><a id="roster" href="/roster?launch_id={launch_id}">Who is in this course?</a></p>'
    body = f"""<p id="launched">Launched by <span id="name">{html.escape(data.get("name", ""))}</span>
(<span id="email">{html.escape(data.get("email", ""))}</span>) as <span id="role">{role}</span></p>
<p>Course <span id="context">{html.escape(context.get("title", ""))}</span>,
link <span id="link">{html.escape(link.get("title", ""))}</span>,
deployment <span id="deployment">{html.escape(data["https://purl.imsglobal.org/spec/lti/claim/deployment_id"])}</span></p>
{forms}"""
    return page("Quiz Tool", body)


@app.post("/score")
def score():
    try:
        message = FlaskMessageLaunch.from_cache(request.form["launch_id"], lti_request(), tool_conf)
        ags = message.get_ags()
        line_item = ags.get_lineitem()
        points = float(request.form["points"])
        now = datetime.datetime.now(datetime.timezone.utc).isoformat()
        grade = (
            Grade()
            .set_score_given(points)
            .set_score_maximum(10)
            .set_timestamp(now)
            .set_activity_progress("Completed")
            .set_grading_progress("FullyGraded")
            .set_user_id(message.get_launch_data()["sub"])
            .set_comment("Scored by the Quiz Tool")
        )
        ags.put_grade(grade)
    except (LtiException, LtiServiceException, KeyError, ValueError) as e:
        return failure("score", e)
    launch_id = html.escape(message.get_launch_id())
    body = f"""<p id="scored">Sent {points:g} of 10 to Lectern for <span id="line-item">{html.escape(line_item.get_label() or "")}</span>
(worth {line_item.get_score_maximum():g} points there).</p>
<p><a id="roster" href="/roster?launch_id={launch_id}">Who is in this course?</a></p>"""
    return page("Quiz Tool", body)


@app.get("/roster")
def roster():
    try:
        message = FlaskMessageLaunch.from_cache(request.args["launch_id"], lti_request(), tool_conf)
        members = message.get_nrps().get_members()
    except (LtiException, LtiServiceException, KeyError) as e:
        return failure("roster", e)
    items = "".join(
        f'<li class="member">{html.escape(m.get("name", ""))} '
        f'<span class="roles">{html.escape(" ".join(r.rsplit("#", 1)[-1] for r in m.get("roles", [])))}</span></li>'
        for m in members
    )
    return page("Quiz Tool: roster", f'<ul id="members">{items}</ul>')


if __name__ == "__main__":
    print(f"quiz tool listening on {BASE}", flush=True)
    app.run(host="localhost", port=PORT, debug=False, use_reloader=False)
